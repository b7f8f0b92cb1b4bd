#!/usr/bin/env bash
# Fetches a MovieLens release into a cache folder, verified.
#   scripts/fetch-movielens.sh NAME [DEST] [--mirror DIR]
#   NAME: ml-100k | ml-1m | ml-10m | ml-20m | ml-25m | ml-32m | ml-latest-small
#   DEST: cache folder (default: data/ in this checkout); the release lands in DEST/NAME/
#   --mirror DIR (or RECDIFF_DATA_MIRROR=DIR): DIR/NAME/ holds the extracted release; copy it from there,
#         verify the files whose checksums are pinned below, and never touch the network.
# Without a mirror it downloads NAME.zip from GroupLens, checks the pinned md5 (where known) and the .md5 file
# GroupLens publishes beside each zip, and unpacks. Nothing half-written is left behind on failure.
# MovieLens terms: research use only, no redistribution — never commit what this script fetches.
set -euo pipefail

die() { echo "fetch-movielens: $*" >&2; exit 1; }

name="" dest="" mirror="${RECDIFF_DATA_MIRROR:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --mirror) [ $# -ge 2 ] || die "--mirror needs a folder"; mirror="$2"; shift 2 ;;
    --mirror=*) mirror="${1#--mirror=}"; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    -*) die "unknown option '$1'" ;;
    *) if [ -z "$name" ]; then name="$1"; elif [ -z "$dest" ]; then dest="$1"; else die "unexpected argument '$1'"; fi; shift ;;
  esac
done
[ -n "$name" ] || die "usage: fetch-movielens.sh NAME [DEST] [--mirror DIR]"

# Folder inside the official zip, and the zip's pinned md5 where independent sources agree on it.
case "$name" in
  ml-100k)         inner="ml-100k";         zip_md5="0e33842e24a9c977be4e0107933c0723" ;;
  ml-1m)           inner="ml-1m";           zip_md5="c4d9eecfca2ab87c1945afe126590906" ;;
  ml-10m)          inner="ml-10M100K";      zip_md5="" ;;
  ml-20m)          inner="ml-20m";          zip_md5="" ;;
  ml-25m)          inner="ml-25m";          zip_md5="" ;;
  ml-32m)          inner="ml-32m";          zip_md5="" ;;
  ml-latest-small) inner="ml-latest-small"; zip_md5="" ;;
  *) die "unknown release '$name' (ml-100k, ml-1m, ml-10m, ml-20m, ml-25m, ml-32m, ml-latest-small)" ;;
esac

# Pinned per-file sha256 of the official files (see the data README of the project's mirror).
# ml-1m's ratings.dat is pinned by md5; the mirror may hold only the documented partial file instead.
pinned_files() {
  case "$1" in
    ml-100k)
      echo "u.data sha256 06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490"
      echo "u.item sha256 553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701"
      echo "u.user sha256 f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c" ;;
    ml-1m)
      echo "movies.dat md5 ef9fd9ff8d1b33faf73e2122c371e910"
      echo "users.dat md5 681c0711d0d4548cd3d4718a49c2dcd8"
      echo "ratings.dat md5 a89aa3591bc97d6d4e0c89459ff39362"
      echo "ratings.partial-users0001-2999.dat sha256 1273c4edfe3c0ff9e3a0a0d55819faeb947da0ad7df3927333b51ebefbeedc3d" ;;
  esac
}

# verify_folder DIR: every pinned file that is present must match; at least the release's ratings must exist.
verify_folder() {
  local dir=$1 checked=0 file algo want got
  while read -r file algo want; do
    [ -n "$file" ] || continue
    [ -f "$dir/$file" ] || continue
    got=$("${algo}sum" "$dir/$file" | cut -d' ' -f1)
    [ "$got" = "$want" ] || die "$dir/$file: $algo $got does not match the official file ($want); refusing this copy"
    checked=$((checked + 1))
  done < <(pinned_files "$name")
  local ratings=""
  for file in "$dir"/u.data "$dir"/ratings.dat "$dir"/ratings.csv "$dir"/ratings.partial-*.dat; do
    [ -f "$file" ] && ratings="$file"
  done
  [ -n "$ratings" ] || die "$dir holds no ratings file (u.data, ratings.dat, ratings.csv)"
  if [ -n "$(pinned_files "$name")" ] && [ "$checked" -eq 0 ]; then
    die "$dir: none of the pinned files of $name is present"
  fi
  echo "fetch-movielens: verified $checked pinned file(s) in $dir"
}

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${dest:-$root/data}"
mkdir -p "$dest"
target="$dest/$name"
if [ -d "$target" ]; then
  verify_folder "$target"
  echo "fetch-movielens: $target already present"
  exit 0
fi

tmp="$(mktemp -d "$dest/.${name}.partial.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

if [ -n "$mirror" ]; then
  [ -d "$mirror/$name" ] || die "mirror $mirror has no folder $name/"
  cp -R "$mirror/$name/." "$tmp/"
  chmod -R u+w "$tmp"
  verify_folder "$tmp"
else
  command -v curl >/dev/null || die "curl is needed to download (or give --mirror DIR)"
  url="https://files.grouplens.org/datasets/movielens/${name}.zip"
  echo "fetch-movielens: downloading $url"
  curl -fsSL --retry 2 -o "$tmp/$name.zip" "$url" || die "download of $url failed"
  got=$(md5sum "$tmp/$name.zip" | cut -d' ' -f1)
  if [ -n "$zip_md5" ] && [ "$got" != "$zip_md5" ]; then
    die "$name.zip: md5 $got does not match the pinned $zip_md5"
  fi
  if curl -fsSL -o "$tmp/$name.zip.md5" "$url.md5"; then
    published=$(grep -oE '[0-9a-f]{32}' "$tmp/$name.zip.md5" | head -n 1)
    [ "$got" = "$published" ] || die "$name.zip: md5 $got does not match GroupLens' published $published"
  elif [ -z "$zip_md5" ]; then
    die "no pinned md5 for $name and the published $url.md5 could not be fetched: refusing an unverified zip"
  fi
  command -v unzip >/dev/null || die "unzip is needed"
  unzip -q "$tmp/$name.zip" -d "$tmp/unpacked" || die "$name.zip does not unpack"
  [ -d "$tmp/unpacked/$inner" ] || die "$name.zip has no folder $inner/"
  mv "$tmp/unpacked/$inner" "$tmp/release"
  rm -rf "$tmp/unpacked" "$tmp/$name.zip" "$tmp/$name.zip.md5"
  verify_folder "$tmp/release"
  mv "$tmp/release" "$tmp/../.${name}.ready.$$"
  rm -rf "$tmp"; tmp="$dest/.${name}.ready.$$"
fi
mv "$tmp" "$target"   # atomic within one file system
trap - EXIT
echo "fetch-movielens: $name ready in $target"
