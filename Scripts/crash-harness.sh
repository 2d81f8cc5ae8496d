#!/usr/bin/env bash
# Full-size crash-safety run: 300 SIGKILLs of keygate serve during a stream
# of creates, rotations, revocations, plan changes and verifications.
# KEYGATE_CRASH_KILLS and KEYGATE_CRASH_SEED may be set to change it.
set -euo pipefail
cd "$(dirname "$0")/.."
export KEYGATE_CRASH_KILLS="${KEYGATE_CRASH_KILLS:-300}"
swift test --filter CrashSafetyTests
