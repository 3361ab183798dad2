# Shared by the quick-start scripts: install what is missing (Debian 12, as root) and
# configure + build one build directory. Safe to run again: it only adds what is missing.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
packages=(g++ cmake ninja-build pkg-config libssl-dev
          libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
          libboost-test1.81-dev libboost-program-options1.81-dev)

# The sanitizer, fuzzing and static-analysis stages (CI) need these too.
analysis_packages=(clang libclang-rt-14-dev clang-tidy cppcheck)

# install_missing [extra packages...]
install_missing() {
    local missing=()
    for p in "${packages[@]}" "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing: ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# build DIR [cmake args...]: configure (first time) and build with all cores.
build() {
    local dir="$1"; shift
    cmake -S "$root" -B "$dir" -G Ninja "$@" >/dev/null
    cmake --build "$dir" -j "$(nproc)"
}
