#!/usr/bin/env bash
# The launcher's dead-man switch (started by scripts/children.ts, in a session of its own so that
# neither Ctrl-C nor a kill of the launcher's group reaches it). stdin is a pipe from the
# launcher: "+PGID" when it starts a child in its own process group, "-PGID" once that group is
# gone. EOF means the launcher is gone, however it went (exit, crash, SIGKILL): every group still
# listed gets SIGTERM, and SIGKILL after REAPER_GRACE_MS if anything in it still runs.
# bash, not sh: dash's kill cannot signal a process group.

groups=' '
while IFS= read -r line; do
  case $line in
    +[0-9]*) groups="$groups${line#+} " ;;
    -[0-9]*) groups=${groups/ ${line#-} / } ;;
  esac
done
set -- $groups
[ $# -eq 0 ] && exit 0

# The groups of "$@" that still hold a running process. Zombies do not count: a child re-parented
# to init stays a zombie until init reaps it, which can take seconds in a container.
running() {
  local f rest state pgid wanted=" $* " out=''
  for f in /proc/[0-9]*/stat; do
    read -r rest 2>/dev/null <"$f" || continue
    rest=${rest##*) }            # after "pid (comm) ": comm may hold spaces and parentheses
    state=${rest%% *}; rest=${rest#* }; rest=${rest#* }; pgid=${rest%% *}
    [ "$state" != Z ] && [[ $wanted == *" $pgid "* ]] && [[ $out != *" $pgid "* ]] && out="$out $pgid "
  done
  echo $out
}

for g in "$@"; do kill -TERM -- "-$g" 2>/dev/null; done
now_ms() { local t=${EPOCHREALTIME/./}; echo $(( t / 1000 )); }
end=$(( $(now_ms) + ${REAPER_GRACE_MS:-3000} ))
left=$(running "$@")
while [ -n "$left" ] && [ "$(now_ms)" -lt $end ]; do
  sleep 0.05
  left=$(running $left)
done
for g in $left; do kill -KILL -- "-$g" 2>/dev/null; done
exit 0
