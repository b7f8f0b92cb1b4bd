# Runs the authors' DreamRec training step (their Tenc / diffusion classes from DreamRec.py, unchanged, imported;
# the loop body is theirs: cacu_x(target), cacu_h(seq, len_seq, p), random t, p_losses, AdamW) on the DiffuRec
# ML-1M export with our leave-one-out split (every prefix of the training part, histories of the last 10 items
# right-padded with item_num as theirs), and logs what happens to the item table E: the loss, the mean row norm
# of E, of the 100 most frequent targets and of the 1,000 least frequent, and validation HR@10/20 of the first
# 1,500 users through their model.predict() and calculate_hit() (their protocol: no history masking).
# Not the authors' code; it needs their DreamRec.py, Modules_ori.py and utility.py in the working directory
# (github YangZhengyi98/DreamRec) and torch + pandas (Debian: apt-get install python3-torch python3-pandas).
# Usage: python3 dreamrec_authors_ml1m.py BATCHES EVAL_AT [extra DreamRec.py flags, e.g. --lr 0.00005]
#   e.g. python3 dreamrec_authors_ml1m.py 4000 250,500,1000,2000,3000,4000
# Data: RECDIFF_ML1M (default /work/shared/data/diffurec/ml-1m/sequences.txt).
import os, sys, time
budget = int(sys.argv[1])
eval_at = set(int(x) for x in sys.argv[2].split(','))
extra = sys.argv[3:]
sys.argv = ['DreamRec.py', '--timesteps', '500', '--lr', '0.001', '--beta_sche', 'exp', '--w', '2',
            '--optimizer', 'adamw', '--diffuser_type', 'mlp1', '--random_seed', '100'] + extra
import numpy as np
import torch
torch.set_num_threads(1)
import DreamRec as D  # module level: parse_args, setup_seed(100), classes; main is guarded
from utility import pad_history, calculate_hit

args = D.args
seqs = []
for line in open(os.environ.get('RECDIFF_ML1M', '/work/shared/data/diffurec/ml-1m/sequences.txt')):
    uid, items = line.rstrip('\n').split('\t')
    seqs.append([int(x) - 1 for x in items.split()])  # their ids 0 … item_num-1
item_num = max(max(s) for s in seqs) + 1
L = 10
tr_seq, tr_len, tr_next = [], [], []
for s in seqs:
    t = s[:-2]
    for k in range(1, len(t)):
        h = t[max(0, k - L):k]
        tr_seq.append(pad_history(list(h), L, item_num)); tr_len.append(len(h)); tr_next.append(t[k])
def held(offset):
    q, ln, nx = [], [], []
    for s in seqs:
        h = s[:len(s) - offset][-L:]
        q.append(pad_history(list(h), L, item_num)); ln.append(len(h)); nx.append(s[len(s) - offset])
    return q, ln, nx
va = held(2)
tr_seq = np.array(tr_seq); tr_len = np.array(tr_len); tr_next = np.array(tr_next)
print(f'items {item_num}, training rows {len(tr_next)}, users {len(seqs)}', flush=True)
counts = np.bincount(tr_next, minlength=item_num)
popular = np.argsort(-counts)[:100]
rare = np.argsort(counts)[:1000]

device = torch.device('cpu')
model = D.Tenc(args.hidden_factor, item_num, L, args.dropout_rate, args.diffuser_type, device)
diff = D.diffusion(args.timesteps, args.beta_start, args.beta_end, args.w)
opt = torch.optim.AdamW(model.parameters(), lr=args.lr, eps=1e-8, weight_decay=args.l2_decay)
D.device = device

def norms():
    E = model.item_embeddings.weight.detach()[:item_num]
    n = E.norm(dim=1)
    return float(n.mean()), float(n[popular].mean()), float(n[rare].mean())

def validate(users):
    # their evaluate(): batches of 100, model.predict (no model.eval(), as theirs), their calculate_hit
    hit = [0, 0]; ndcg = [0, 0]; total = 0
    q, ln, nx = va
    with torch.no_grad():
        for i in range(users // 100):
            sl = slice(i * 100, (i + 1) * 100)
            pred = model.predict(torch.LongTensor(np.array(q[sl])), np.array(ln[sl]), diff)
            _, topK = pred.topk(100, dim=1, largest=True, sorted=True)
            calculate_hit(np.flip(topK.numpy(), axis=1), [10, 20], nx[sl], hit, ndcg)
            total += 100
    return hit[0] / total, hit[1] / total

rng = np.random.default_rng(100)
print('batch loss meanNormE normTop100 normRare1000 cpu_s', flush=True)
print(0, '-', *('%.4f' % v for v in norms()), flush=True)
cpu0 = time.process_time()
for j in range(1, budget + 1):
    idx = rng.choice(len(tr_next), size=args.batch_size, replace=False)
    seq = torch.LongTensor(tr_seq[idx]); len_seq = torch.LongTensor(tr_len[idx]); target = torch.LongTensor(tr_next[idx])
    opt.zero_grad()
    x_start = model.cacu_x(target)
    h = model.cacu_h(seq, len_seq, args.p)
    n = torch.randint(0, args.timesteps, (args.batch_size,), device=device).long()
    loss, _ = diff.p_losses(model, x_start, h, n, loss_type='l2')
    loss.backward()
    opt.step()
    if j % 100 == 0 or j in eval_at:
        print(j, '%.4f' % float(loss), *('%.4f' % v for v in norms()), '%.1f' % (time.process_time() - cpu0), flush=True)
    if j in eval_at:
        hr10, hr20 = validate(1500)
        print(f'  valid(1500 users, their protocol) after {j} batches: HR@10 {hr10:.4f} HR@20 {hr20:.4f}', flush=True)
