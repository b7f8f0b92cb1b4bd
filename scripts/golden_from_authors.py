#!/usr/bin/python3
"""Golden cases from the authors' own code, in the JSON schema of tests/golden/ (see tests/golden/README.md).

The authors' code is NOT part of this repository: fetch it yourself and pass the checkouts' paths
(WHUIR/DiffuRec and YiyanXu/DiffRec, e.g. `git clone https://github.com/WHUIR/DiffuRec`). Everything is
computed by calling their functions in float64 with fixed seeds; the few places where the reference rounds
through float32 (its `_extract_into_tensor(...).float()`, its float32 sinusoid) are left as they are, since
they are part of what the reference computes.

Usage (Debian's torch 1.13 runs with /usr/bin/python3):
  /usr/bin/python3 scripts/golden_from_authors.py --diffurec /path/DiffuRec --diffrec /path/DiffRec \
      --out tests/golden [--files named_schedules,diffurec_approximator,diffrec_dnn] [--seed-offset N]

Files written (each replaced as a whole):
  named_schedules.json        DiffuRec get_named_beta_schedule for every schedule and step count listed in
                              SCHEDULE_STEPS (including pairs whose reference betas leave (0, 1]: recdiff
                              refuses those, and the golden test expects the refusal).
  diffurec_approximator.json  DiffuRec Att_Diffuse_model + Diffu_xstart + reverse_p_sample (APPROX_CASES).
  diffrec_dnn.json            DiffRec DNN + GaussianDiffusion.training_losses + AdamW + p_sample (DNN_CASES).
--seed-offset adds N to every case's seed: a different set generated the same way (the golden tests must pass
on it unchanged).
"""
import argparse
import copy
import json
import os
import sys
import types

# NumPy 1.22-1.24 evaluates float64 cos with AVX-512 SVML kernels on machines that have AVX512_SKX: up to
# 2.5 ULP of error (measured on the arguments of trunc_cos at 2000 steps, against mpmath), where libm's cos is
# within 0.51 ULP. get_named_beta_schedule's beta_t = 1 - alphaBar(t2) / alphaBar(t1) multiplies alphaBar's
# relative error by 1/beta_t (about T/2 for trunc_cos), so at T = 2000 the SVML tables carry 1.7e-12 of
# NumPy's own rounding (more than the table tolerance) and depend on the CPU that generated them. The
# generator therefore runs NumPy on its baseline (libm) kernels on every machine; the authors' functions are
# unchanged. Must be set before numpy is imported.
os.environ.setdefault("NPY_DISABLE_CPU_FEATURES", "AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL")

import numpy as np
import torch

SCHEDULES = ["linear", "cosine", "sqrt", "trunc_cos", "trunc_lin", "pw_lin"]
# 32/100/1000: the original cases; 11/17: linear and pw_lin leave (0, 1] there; 2000: trunc_cos at large T.
SCHEDULE_STEPS = [11, 17, 32, 100, 1000, 2000]

APPROX_CASES = [
    # the original two cases
    dict(seed=5, n_items=9, hidden_size=8, num_blocks=2, batch=3, seq_len=4, diffusion_steps=4,
         noise_schedule="trunc_lin", lambda_uncertainty=0.001),
    dict(seed=6, n_items=6, hidden_size=4, num_blocks=1, batch=2, seq_len=3, diffusion_steps=6,
         noise_schedule="sqrt", lambda_uncertainty=0.5),
    # issue 24 (3): small T
    dict(seed=22, n_items=9, hidden_size=12, num_blocks=2, batch=2, seq_len=3, diffusion_steps=5,
         noise_schedule="trunc_lin", lambda_uncertainty=0.001),
    dict(seed=23, n_items=7, hidden_size=8, num_blocks=1, batch=4, seq_len=3, diffusion_steps=2,
         noise_schedule="trunc_lin", lambda_uncertainty=0.001),
    dict(seed=24, n_items=7, hidden_size=8, num_blocks=1, batch=4, seq_len=3, diffusion_steps=3,
         noise_schedule="trunc_lin", lambda_uncertainty=0.001),
    dict(seed=25, n_items=7, hidden_size=8, num_blocks=2, batch=4, seq_len=3, diffusion_steps=8,
         noise_schedule="trunc_lin", lambda_uncertainty=0.001),
    dict(seed=26, n_items=11, hidden_size=8, num_blocks=2, batch=4, seq_len=5, diffusion_steps=32,
         noise_schedule="trunc_lin", lambda_uncertainty=0.001),
]

ADAMW_X0 = dict(lr=0.001, weight_decay=0.0, betas=[0.9, 0.999], eps=1e-08)
ADAMW_EPS = dict(lr=0.0005, weight_decay=0.1, betas=[0.9, 0.999], eps=1e-08)
DNN_CASES = [
    dict(seed=1, n_items=12, hidden_dims=[16], emb_size=6, batch=4, schedule="linear-var", steps=5,
         noise_scale=0.005, noise_min=0.005, noise_max=0.01, mean_type="x0", reweight=True, adamw=ADAMW_X0),
    dict(seed=2, n_items=10, hidden_dims=[8], emb_size=4, batch=3, schedule="linear-var", steps=3,
         noise_scale=0.1, noise_min=0.0001, noise_max=0.02, mean_type="eps", reweight=True, adamw=ADAMW_EPS),
    # issue 24 (4): eps with t = 0 in the batch (the x0-likelihood term)
    dict(seed=12, n_items=12, hidden_dims=[10], emb_size=6, batch=5, schedule="linear-var", steps=5,
         noise_scale=0.1, noise_min=0.0001, noise_max=0.02, mean_type="eps", reweight=True, adamw=ADAMW_EPS),
]

APPROX_NOTES = ("item ids are 1..n_items, row 0 of item_embeddings is padding; no padding inside sequences; "
                "dropout 0; lambda_uncertainty tensor = lam + lam * lambda_noise; LayerNorm eps 1e-12 (TF style); "
                "GELU is the tanh approximation; attention heads fixed at 4; timesteps rescaled by 1000/steps "
                "before the sinusoidal embedding; loss = cross entropy of x0_pred . item_embeddings^T against "
                "labels; reverse: x_T = reverse_noises[0], each p_sample draws the next noise (also at t=0, "
                "where it is multiplied by 0); log variance 'fixed large'")
DNN_LAYOUT = ("torch nn.Linear: weight is [out, in], y = x W^T + b; emb_layer maps sinusoidal embedding (size emb) "
              "-> emb; input to in_layers[0] is concat([x, emb]); tanh after every layer except the last out_layer")


def arr(t):
    a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "data": [float(v) for v in a.ravel()]}


def write(out_dir, name, obj):
    path = os.path.join(out_dir, name)
    with open(path, "w") as f:
        json.dump(obj, f, indent=None, separators=(",", ":"))
        f.write("\n")
    print("wrote", path)


# ---------------------------------------------------------------------------------------------- schedules
def named_schedules(diffurec):
    cases = []
    with np.errstate(all="ignore"):
        for name in SCHEDULES:
            for steps in SCHEDULE_STEPS:
                if name == "pw_lin" and steps <= 10:
                    continue  # the reference cannot build it (its second part would have <= 0 entries)
                betas = diffurec.get_named_beta_schedule(name, steps)
                cases.append({"schedule": name, "steps": steps, "betas": arr(betas)})
    return {"source": "WHUIR/DiffuRec src/diffurec.py get_named_beta_schedule", "cases": cases}


# ----------------------------------------------------------------------------------- DiffuRec approximator
def approximator_case(spec, diffurec, model_mod, step_sample):
    c = dict(spec)
    seed, n, h, B, L, T = c["seed"], c["n_items"], c["hidden_size"], c["batch"], c["seq_len"], c["diffusion_steps"]
    lam = c["lambda_uncertainty"]
    torch.set_default_dtype(torch.float32)  # the authors build the model in float32; we cast it to double
    torch.manual_seed(seed)
    np.random.seed(seed)
    args = types.SimpleNamespace(hidden_size=h, schedule_sampler_name="uniform", diffusion_steps=T,
                                 noise_schedule=c["noise_schedule"], rescale_timesteps=True, num_blocks=c["num_blocks"],
                                 dropout=0.0, lambda_uncertainty=lam, item_num=n, emb_dropout=0.0, max_len=L)
    diffu = model_mod.create_model_diffu(args)
    model = model_mod.Att_Diffuse_model(diffu, args).double()
    model.eval()  # dropout 0 anyway
    params = {k: arr(v) for k, v in model.state_dict().items()}

    sequence = torch.randint(1, n + 1, (B, L))
    labels = torch.randint(1, n + 1, (B,))
    noise = torch.randn(B, h, dtype=torch.float64)
    lambda_noise = torch.randn(B, L, h, dtype=torch.float64)
    reverse_noises = [torch.randn(B, h, dtype=torch.float64) for _ in range(T + 1)]
    t, _ = diffu.schedule_sampler.sample(B, "cpu")  # the authors' UniformSampler (np.random.choice)

    # Lambda: the reference draws th.normal(mean=lam, std=lam); we inject lam + lam * lambda_noise (float64).
    real_normal = torch.normal

    def fixed_normal(mean, std, *a, **k):
        return (lam + lam * lambda_noise).to(torch.float64)

    # The reference's sinusoid is float32 (t.float(), float32 frequencies); the double model needs a double
    # input, so its float32 values are cast (not recomputed).
    real_embedding = diffurec.Diffu_xstart.timestep_embedding

    def embedding64(self, timesteps, dim, max_period=10000):
        return real_embedding(self, timesteps, dim, max_period).double()

    diffurec.Diffu_xstart.timestep_embedding = embedding64
    diffurec.th.normal = fixed_normal
    try:
        item_rep = model.LayerNorm(model.embed_dropout(model.item_embeddings(sequence)))
        mask_seq = (sequence > 0).float()
        tag_emb = model.item_embeddings(labels)
        x_t = diffu.q_sample(tag_emb, t, noise=noise)
        x0, _ = diffu.xstart_model(item_rep, x_t, diffu._scale_timesteps(t), mask_seq)
        loss = model.loss_diffu_ce(x0, labels.unsqueeze(-1))
        model.zero_grad()
        loss.backward()
        grads = {k: arr(p.grad) for k, p in model.named_parameters() if p.grad is not None}

        pending = list(reverse_noises[1:])
        real_randn_like = diffurec.th.randn_like

        def next_noise(x, *a, **k):
            return pending.pop(0).to(x.dtype)

        diffurec.th.randn_like = next_noise
        try:
            with torch.no_grad():
                item_rep = model.LayerNorm(model.embed_dropout(model.item_embeddings(sequence)))
                out = diffu.reverse_p_sample(item_rep, reverse_noises[0].clone(), mask_seq)
        finally:
            diffurec.th.randn_like = real_randn_like
        assert not pending
    finally:
        diffurec.th.normal = real_normal
        diffurec.Diffu_xstart.timestep_embedding = real_embedding

    c.update(heads=4, rescale_timesteps=True, notes=APPROX_NOTES)
    order = ["seed", "n_items", "hidden_size", "heads", "num_blocks", "batch", "seq_len", "diffusion_steps",
             "noise_schedule", "rescale_timesteps", "lambda_uncertainty", "notes"]
    case = {k: c[k] for k in order}
    case.update(sequence=sequence.tolist(), labels=labels.tolist(), timesteps=t.tolist(), noise=arr(noise),
                lambda_noise=arr(lambda_noise), x_t=arr(x_t), x0_pred=arr(x0), loss=float(loss), params=params,
                grads=grads, reverse_noises=[arr(r) for r in reverse_noises], reverse_output=arr(out))
    return case


def diffurec_approximator(diffurec_dir, seed_offset):
    src = os.path.join(diffurec_dir, "src")
    sys.path.insert(0, src)
    import diffurec  # noqa: E402  (the authors' module)
    import model as model_mod  # noqa: E402
    import step_sample  # noqa: E402
    cases = []
    for spec in APPROX_CASES:
        spec = dict(spec, seed=spec["seed"] + seed_offset)
        cases.append(approximator_case(spec, diffurec, model_mod, step_sample))
    return {"source": "WHUIR/DiffuRec src/diffurec.py + src/model.py, float64", "cases": cases}


# ------------------------------------------------------------------------------------------- DiffRec DNN
def dnn_case(spec, dnn_mod, gd_mod):
    c = copy.deepcopy(spec)
    seed, n, B = c["seed"], c["n_items"], c["batch"]
    torch.set_default_dtype(torch.float32)
    torch.manual_seed(seed)
    np.random.seed(seed)
    out_dims = c["hidden_dims"] + [n]
    in_dims = out_dims[::-1]
    model = dnn_mod.DNN(in_dims, out_dims, c["emb_size"], time_type="cat", norm=False, dropout=0.0).double()
    mean_type = gd_mod.ModelMeanType.START_X if c["mean_type"] == "x0" else gd_mod.ModelMeanType.EPSILON
    diffusion = gd_mod.GaussianDiffusion(mean_type, c["schedule"], c["noise_scale"], c["noise_min"], c["noise_max"],
                                         c["steps"], "cpu")
    params = {k: arr(v) for k, v in model.state_dict().items()}
    x_start = (torch.rand(B, n, dtype=torch.float64) < 0.4).double()

    record = {}
    real_randn_like = gd_mod.th.randn_like
    real_sample = diffusion.sample_timesteps

    def randn_like(x, *a, **k):
        record["noise"] = real_randn_like(x, *a, **k)
        return record["noise"]

    def sample_timesteps(*a, **k):
        ts, pt = real_sample(*a, **k)
        record["ts"], record["pt"] = ts, pt
        return ts, pt

    def hook(module, inputs, output):
        record["x_t"], record["model_output"] = inputs[0], output

    # DiffRec's sinusoid is float32 (t.float(), float32 frequencies); cast its values for the double model.
    real_embedding = dnn_mod.timestep_embedding
    dnn_mod.timestep_embedding = lambda timesteps, dim, max_period=10000: real_embedding(timesteps, dim, max_period).double()
    handle = model.register_forward_hook(hook)
    gd_mod.th.randn_like = randn_like
    diffusion.sample_timesteps = sample_timesteps
    try:
        terms = diffusion.training_losses(model, x_start, reweight=c["reweight"])
    finally:
        gd_mod.th.randn_like = real_randn_like
        diffusion.sample_timesteps = real_sample
        handle.remove()
    ts = record["ts"]
    per_example_loss = terms["loss"]
    # the reweighting as training_losses computes it (its `weight`)
    if not c["reweight"]:
        weight = torch.ones(B, dtype=torch.float64)
    elif mean_type == gd_mod.ModelMeanType.START_X:
        weight = torch.where(ts == 0, 1.0, diffusion.SNR(ts - 1) - diffusion.SNR(ts))
    else:
        ac, acp, b = diffusion.alphas_cumprod, diffusion.alphas_cumprod_prev, diffusion.betas
        weight = torch.where(ts == 0, 1.0, (1 - ac[ts]) / ((1 - acp[ts]) ** 2 * (1 - b[ts])))
    loss = per_example_loss.mean()
    model.zero_grad()
    loss.backward()
    grads = {k: arr(p.grad) for k, p in model.named_parameters()}
    a = c["adamw"]
    opt = torch.optim.AdamW(model.parameters(), lr=a["lr"], weight_decay=a["weight_decay"], betas=tuple(a["betas"]),
                            eps=a["eps"])
    opt.step()
    after = {k: arr(v) for k, v in model.state_dict().items()}
    try:
        with torch.no_grad():
            sampled = diffusion.p_sample(model, x_start, 0, sampling_noise=False)
    finally:
        dnn_mod.timestep_embedding = real_embedding

    c["parameter_layout"] = DNN_LAYOUT
    c.update(x_start=arr(x_start), noise=arr(record["noise"]), timesteps=ts.tolist(), x_t=arr(record["x_t"]),
             model_output=arr(record["model_output"]), per_example_weight=arr(weight),
             per_example_loss=arr(per_example_loss), loss=float(loss), params=params, grads=grads,
             params_after_adamw_step=after, p_sample_steps0_no_noise=arr(sampled))
    return c


def diffrec_dnn(diffrec_dir, seed_offset):
    sys.path.insert(0, os.path.join(diffrec_dir, "DiffRec"))
    import models.DNN as dnn_mod  # noqa: E402  (the authors' modules)
    import models.gaussian_diffusion as gd_mod  # noqa: E402
    cases = [dnn_case(dict(s, seed=s["seed"] + seed_offset), dnn_mod, gd_mod) for s in DNN_CASES]
    return {"source": "YiyanXu/DiffRec DiffRec/models/DNN.py + gaussian_diffusion.py, float64, dropout 0", "cases": cases}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--diffurec", help="checkout of WHUIR/DiffuRec (needs src/diffurec.py, src/model.py)")
    p.add_argument("--diffrec", help="checkout of YiyanXu/DiffRec (needs DiffRec/models/)")
    p.add_argument("--out", required=True, help="output folder (e.g. tests/golden)")
    p.add_argument("--files", default="named_schedules,diffurec_approximator,diffrec_dnn")
    p.add_argument("--seed-offset", type=int, default=0, help="added to every case's seed")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    files = [f.strip() for f in a.files.split(",") if f.strip()]
    for f in files:
        if f in ("named_schedules", "diffurec_approximator") and not a.diffurec:
            p.error(f"{f} needs --diffurec")
        if f == "diffrec_dnn" and not a.diffrec:
            p.error("diffrec_dnn needs --diffrec")
    for f in files:
        if f == "named_schedules":
            sys.path.insert(0, os.path.join(a.diffurec, "src"))
            import diffurec  # noqa: E402
            write(a.out, "named_schedules.json", named_schedules(diffurec))
        elif f == "diffurec_approximator":
            write(a.out, "diffurec_approximator.json", diffurec_approximator(a.diffurec, a.seed_offset))
        elif f == "diffrec_dnn":
            write(a.out, "diffrec_dnn.json", diffrec_dnn(a.diffrec, a.seed_offset))
        else:
            p.error(f"unknown file {f}")


if __name__ == "__main__":
    main()
