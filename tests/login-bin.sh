# Sourced by tests/deploy/nginx.sh and tests/browser/run.sh (with ROOT set):
# sets LOGIN_BIN to the demo binary, building it when the default is missing.
# LOGIN_BIN may name another build; CARGO_TARGET_DIR is honoured.
default_bin="${CARGO_TARGET_DIR:-$ROOT/target}/debug/examples/login"
LOGIN_BIN=${LOGIN_BIN:-$default_bin}
if [[ ! -x $LOGIN_BIN ]]; then
    if [[ $LOGIN_BIN != "$default_bin" ]]; then
        echo "error: LOGIN_BIN=$LOGIN_BIN is not an executable" >&2
        exit 2
    fi
    echo "building the login example ($LOGIN_BIN is missing)"
    (cd "$ROOT" && cargo build --quiet --example login)
fi
[[ -x $LOGIN_BIN ]] || { echo "error: no login binary at $LOGIN_BIN" >&2; exit 2; }
