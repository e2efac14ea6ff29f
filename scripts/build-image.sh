#!/usr/bin/env bash
# Builds the numflow container image (Dockerfile) with buildah, without Docker Hub: the two base
# images the Dockerfile names (debian:12 for the build stage, debian:12-slim for the runtime) are
# made here from Debian packages with mmdebstrap, from the Debian mirror this machine's apt uses,
# and imported into buildah's local storage as localhost/debian:12 and localhost/debian:12-slim.
# Then `buildah bud` builds the image, and each binary's --help is run in it as uid 65532.
#
#   scripts/build-image.sh                       # -> localhost/numflow:<project version>
#   scripts/build-image.sh --tag ghcr.io/numflow/numflow:0.1.0 --jobs 2
#
# Idempotent: the two root filesystems are cached as tarballs (~/.cache/numflow/image), the base
# images are re-imported only when their tarball changed, and `bud --layers` reuses every step
# whose inputs did not change (a re-run with unchanged sources takes seconds). Runs as root
# (buildah's storage in /var/lib/containers, mmdebstrap in root mode). Everything runs at the
# lowest CPU and I/O priority (nice 19, ionice idle) unless NUMFLOW_IMAGE_NICE=0.
# Disk: ~0.3 GB of tarballs, ~1.1 GB in /var/lib/containers (the build stage stays as the layer
# cache; `buildah rmi --prune` frees it). A cold run takes ~5.5 min on 2 cores with --jobs 1.
# Needs: apt-get install buildah mmdebstrap. See docs/operations.md ("Checks").
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="$(sed -n 's/^project(numflow VERSION \([0-9.]*\).*/\1/p' "$ROOT/CMakeLists.txt")"

usage() {
  cat <<EOF
Usage: scripts/build-image.sh [options]

Builds the numflow image from Dockerfile with buildah, on base images made locally from Debian
packages (mmdebstrap; no container registry is needed), then runs numflow-ingest --help and
numflow-transform --help in it as uid 65532 and prints the image id and size.

Options:
  --tag NAME             image name (default: localhost/numflow:${VERSION:-?})
  --jobs N               parallel compile jobs in the build stage (default: 1)
  --storage-driver D     buildah storage driver: overlay or vfs (default: the one the storage
                         in /var/lib/containers already uses; overlay for a new one)
  --mirror URL           Debian mirror (default: the one in this machine's apt sources, else
                         http://deb.debian.org/debian)
  --security-mirror URL  Debian security mirror (default: likewise, .../debian-security)
  --cache-dir DIR        where the root filesystem tarballs are kept
                         (default: \$XDG_CACHE_HOME/numflow/image or ~/.cache/numflow/image)
  --rebuild-bases        make the root filesystems and base images again (e.g. to take in a
                         Debian point release or security update)
  --no-smoke             do not run the binaries in the built image
  -h, --help             this text

Environment: NUMFLOW_IMAGE_NICE=0 keeps the normal CPU and I/O priority.
EOF
}

die() { echo "build-image: error: $*" >&2; exit 1; }
log() { echo "build-image: $*" >&2; }

TAG="localhost/numflow:${VERSION:-latest}"
JOBS=1
DRIVER="${STORAGE_DRIVER:-}"
MIRROR=""
SECURITY_MIRROR=""
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/numflow/image"
REBUILD_BASES=0
SMOKE=1
while (($#)); do
  case "$1" in
    --tag) TAG="${2:?--tag needs a value}"; shift 2 ;;
    --jobs) JOBS="${2:?--jobs needs a value}"; shift 2 ;;
    --storage-driver) DRIVER="${2:?--storage-driver needs a value}"; shift 2 ;;
    --mirror) MIRROR="${2:?--mirror needs a value}"; shift 2 ;;
    --security-mirror) SECURITY_MIRROR="${2:?--security-mirror needs a value}"; shift 2 ;;
    --cache-dir) CACHE="${2:?--cache-dir needs a value}"; shift 2 ;;
    --rebuild-bases) REBUILD_BASES=1; shift ;;
    --no-smoke) SMOKE=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || die "--jobs must be a positive number, not '$JOBS'"

# ---- preconditions --------------------------------------------------------------------------
[[ $(id -u) -eq 0 ]] || die "run as root (buildah's system storage and mmdebstrap's root mode need it): sudo $0"
missing=()
command -v buildah >/dev/null || missing+=(buildah)
command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
((${#missing[@]} == 0)) || die "missing ${missing[*]}: apt-get install -y ${missing[*]}"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
[[ -r $KEYRING ]] || die "no $KEYRING: apt-get install -y debian-archive-keyring"

if [[ "${NUMFLOW_IMAGE_NICE:-1}" != 0 ]]; then
  renice -n 19 -p $$ >/dev/null
  ionice -c3 -p $$ 2>/dev/null || true
fi

# Storage driver: the one the existing storage was created with (buildah refuses to open it with
# another), else overlay, which the kernel supports natively as root (vfs copies every layer).
STORE=/var/lib/containers/storage
if [[ -z "$DRIVER" ]]; then
  if [[ -d $STORE/overlay-images ]]; then DRIVER=overlay
  elif [[ -d $STORE/vfs-images ]]; then DRIVER=vfs
  else DRIVER=overlay; fi
fi
case "$DRIVER" in overlay|vfs) ;; *) die "--storage-driver must be overlay or vfs, not '$DRIVER'" ;; esac
BUILDAH=(buildah --storage-driver "$DRIVER")

# Mirrors: from this machine's apt sources (one-line and deb822 formats; comments skipped).
apt_uri() {  # $1: path suffix, "debian" or "debian-security"
  local files=(/etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources)
  cat "${files[@]}" 2>/dev/null | sed 's/#.*//' | grep -oE "https?://[^] \"']+/$1/?( |\$)" \
    | head -n1 | sed 's:/* *$::' || true
}
[[ -n "$MIRROR" ]] || MIRROR="$(apt_uri debian)"
[[ -n "$MIRROR" ]] || MIRROR=http://deb.debian.org/debian
[[ -n "$SECURITY_MIRROR" ]] || SECURITY_MIRROR="$(apt_uri debian-security)"
[[ -n "$SECURITY_MIRROR" ]] || SECURITY_MIRROR="${MIRROR%/debian}/debian-security"
MIRROR="${MIRROR%/}"; SECURITY_MIRROR="${SECURITY_MIRROR%/}"

mkdir -p "$CACHE"
T0=$SECONDS
phase_start=$SECONDS
phase() { log "$1 done in $((SECONDS - phase_start)) s"; phase_start=$SECONDS; }

# ---- 1. root filesystems ----------------------------------------------------------------------
# debian:12 is Debian's minbase variant (Priority: required + apt); debian:12-slim is the same
# with documentation, man pages and translations excluded by dpkg (the path-excludes Debian's
# official slim images use), kept in /etc/dpkg/dpkg.cfg.d so later apt-get installs honour them.
SLIM_DPKGOPTS=(
  'path-exclude=/usr/share/doc/*' 'path-include=/usr/share/doc/*/copyright'
  'path-exclude=/usr/share/man/*' 'path-exclude=/usr/share/groff/*'
  'path-exclude=/usr/share/info/*' 'path-exclude=/usr/share/lintian/*'
  'path-exclude=/usr/share/linda/*'
  'path-exclude=/usr/share/locale/*' 'path-include=/usr/share/locale/locale.alias'
)
# As in Debian's official images (their /etc/apt/apt.conf.d/docker-*): no binary package caches
# (/var/cache/apt/*.bin, tens of MB after an apt-get update) and no translation indexes.
BASE_APTOPTS=(
  '--aptopt=Dir::Cache::pkgcache ""' '--aptopt=Dir::Cache::srcpkgcache ""'
  '--aptopt=Acquire::Languages "none"'
  # mmdebstrap copies the host's resolv.conf and hostname in; a container gets its own.
  '--customize-hook=rm -f "$1/etc/resolv.conf" "$1/etc/hostname"'
)
make_rootfs() {  # $1: output tarball, $2...: extra mmdebstrap options
  local out="$1"; shift
  if [[ -s "$out" && $REBUILD_BASES -eq 0 ]]; then
    log "cached root filesystem $out"
    return
  fi
  log "making $out from $MIRROR (bookworm, bookworm-updates) and $SECURITY_MIRROR (bookworm-security)"
  rm -f "$out.tmp"
  # The sources given here are also the image's /etc/apt/sources.list. The merged-usr hook lays
  # out merged /usr itself and installs usr-is-merged: otherwise init-system-helpers pulls in
  # the usrmerge package, and with it perl (45 MB).
  if ! mmdebstrap --mode=root --variant=minbase --keyring="$KEYRING" --format=tar \
        --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
        --aptopt='Acquire::Retries "3"' "${BASE_APTOPTS[@]}" "$@" bookworm "$out.tmp" \
        "deb $MIRROR bookworm main" "deb $MIRROR bookworm-updates main" \
        "deb $SECURITY_MIRROR bookworm-security main" >"$out.log" 2>&1; then
    tail -n 30 "$out.log" >&2
    rm -f "$out.tmp"
    die "mmdebstrap failed (full log: $out.log); is $MIRROR reachable?"
  fi
  mv "$out.tmp" "$out"
}
FULL_TAR="$CACHE/debian-12-minbase.tar"
SLIM_TAR="$CACHE/debian-12-slim.tar"
make_rootfs "$FULL_TAR"
slim_opts=(); for o in "${SLIM_DPKGOPTS[@]}"; do slim_opts+=("--dpkgopt=$o"); done
make_rootfs "$SLIM_TAR" "${slim_opts[@]}"
phase "root filesystems"

# ---- 2. base images -------------------------------------------------------------------------
# A one-layer image per tarball, labelled with the tarball's sha256: re-imported only when that
# changes. Config as Debian's official images: bash as the command, the usual PATH.
import_base() {  # $1: tarball, $2: image name
  local tar="$1" image="$2" sum have ctr
  sum="$(sha256sum "$tar" | cut -d' ' -f1)"
  have="$("${BUILDAH[@]}" inspect --type image --format '{{index .ImageAnnotations "org.numflow.rootfs.sha256"}}' "$image" 2>/dev/null || true)"
  if [[ "$have" == "$sum" ]]; then
    log "base image $image is up to date (rootfs sha256 ${sum:0:12})"
    return
  fi
  log "importing $tar as $image"
  ctr="$("${BUILDAH[@]}" from --pull=never scratch)"
  "${BUILDAH[@]}" add "$ctr" "$tar" / >/dev/null
  "${BUILDAH[@]}" config --cmd '["bash"]' \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --os linux --arch "$(dpkg --print-architecture)" \
    --annotation "org.numflow.rootfs.sha256=$sum" \
    --label "org.opencontainers.image.description=Debian 12 (bookworm) $(basename "$tar" .tar), made by numflow scripts/build-image.sh from $MIRROR" \
    "$ctr"
  "${BUILDAH[@]}" commit --rm --quiet "$ctr" "$image" >/dev/null
}
import_base "$FULL_TAR" localhost/debian:12
import_base "$SLIM_TAR" localhost/debian:12-slim
phase "base images"

# ---- 3. the numflow image ---------------------------------------------------------------------
# chroot isolation: the RUN steps share the host's network (apt-get reaches the mirror) and need
# no OCI runtime or user namespaces.
log "building $TAG (${JOBS} compile job(s); storage driver $DRIVER)"
"${BUILDAH[@]}" bud --isolation chroot --pull=never --layers \
  --build-arg DEBIAN_IMAGE=localhost/debian:12 \
  --build-arg RUNTIME_IMAGE=localhost/debian:12-slim \
  --build-arg NUMFLOW_BUILD_JOBS="$JOBS" \
  -f "$ROOT/Dockerfile" -t "$TAG" "$ROOT"
phase "image build"

# ---- 4. smoke test ----------------------------------------------------------------------------
if ((SMOKE)); then
  ctr="$("${BUILDAH[@]}" from --pull=never "$TAG")"
  trap '"${BUILDAH[@]}" rm "$ctr" >/dev/null 2>&1 || true' EXIT
  for bin in numflow-ingest numflow-transform; do
    if ! "${BUILDAH[@]}" run --isolation chroot --user 65532:65532 "$ctr" -- "/usr/local/bin/$bin" --help >/dev/null; then
      die "/usr/local/bin/$bin --help failed in $TAG as uid 65532"
    fi
    log "$bin --help runs in $TAG as uid 65532"
  done
  user="$("${BUILDAH[@]}" inspect --type image --format '{{.OCIv1.Config.User}}' "$TAG")"
  [[ "$user" == 65532:65532 ]] || die "image user is '$user', not 65532:65532"
  "${BUILDAH[@]}" rm "$ctr" >/dev/null; trap - EXIT
  phase "smoke test"
fi

"${BUILDAH[@]}" images --format '{{.Name}}:{{.Tag}} {{.ID}} {{.Size}}' "$TAG" \
  | while read -r name id size; do echo "build-image: $name image id $id size $size"; done
log "total $((SECONDS - T0)) s"
