#!/usr/bin/env bash
# npm start: set up if needed, build, serve the explorer page on http://127.0.0.1:5173
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
source scripts/env.sh
exec npx vite --config vite.config.js --host 127.0.0.1 --port 5173 --strictPort
