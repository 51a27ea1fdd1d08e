#!/bin/sh
# Installs the development packages (Express for the middleware's tests and
# the demo, sql.js for the demo's user database) into ./node_modules, from
# the npm registry, exactly as package-lock.json pins them. The library
# itself has no dependencies.
set -eu
cd "$(dirname "$0")"
if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
else
    npm install --no-audit --no-fund --loglevel=error
fi
