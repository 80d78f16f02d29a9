# Sourced by the other scripts: the environment Debian's Emscripten and Dawn (npm 'webgpu') need.
export NODE_PATH=/usr/share/nodejs
export LD_LIBRARY_PATH=/usr/lib/chromium${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json
export CHROMIUM_PATH=${CHROMIUM_PATH:-/usr/bin/chromium}
