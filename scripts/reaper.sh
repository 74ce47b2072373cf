#!/usr/bin/env bash
# The launcher's dead-man switch: scripts/reaper.sh <stack id>, started by scripts/children.ts in a
# session of its own (neither Ctrl-C nor a kill of the launcher's group reaches it), its stdin a
# pipe from the launcher that nothing is ever written to. EOF means the launcher is gone, however
# it went (exit, crash, SIGKILL). Every process carrying HAVATAR_STACK_ID=<stack id> in its
# environment — the launcher's children and everything they started, which inherit it, whatever
# process group or parent they ended up with — then gets SIGTERM, and SIGKILL if it still runs
# after REAPER_GRACE_MS. After a clean stop there is nobody left and it exits at once.
id=$1
[ -n "$id" ] || exit 2
while read -r _; do :; done

# Pids of the processes still carrying the id, one a line. A zombie's environ reads empty: zombies
# never match.
tagged() {
  local f
  grep -lzx "HAVATAR_STACK_ID=$id" /proc/[0-9]*/environ 2>/dev/null | while read -r f; do
    f=${f#/proc/}
    echo "${f%/environ}"
  done
}

mapfile -t left < <(tagged)
[ ${#left[@]} -gt 0 ] || exit 0
kill -TERM "${left[@]}" 2>/dev/null
now_ms() { local t=${EPOCHREALTIME/./}; echo $(( t / 1000 )); }
end=$(( $(now_ms) + ${REAPER_GRACE_MS:-3000} ))
while [ ${#left[@]} -gt 0 ] && [ "$(now_ms)" -lt $end ]; do
  sleep 0.05
  mapfile -t left < <(tagged)
done
# A process killed mid-fork can leave a child behind: again until none is left.
for _ in 1 2 3 4 5; do
  [ ${#left[@]} -gt 0 ] || exit 0
  kill -KILL "${left[@]}" 2>/dev/null
  sleep 0.05
  mapfile -t left < <(tagged)
done
exit 0
