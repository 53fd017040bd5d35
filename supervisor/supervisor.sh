#!/bin/sh
# Finale's step supervisor: runs one step's script and after-script, in the step's container on
# AWS and under the embedded engine alike. It is POSIX sh because it must run in any image the user
# picks (busybox, dash, bash). The contract (settings, exit codes, files) is supervisor/contract.ts.
#
# How it works:
# - The step is every process the script starts. Where the supervisor is PID 1 of its own PID
#   namespace (a container on AWS; `unshare` under the embedded engine), that is every process it
#   can see but itself: nothing escapes, not `setsid`, `nohup` or a double fork. Elsewhere it is the
#   script's process group, which such processes leave.
# - The supervisor never blocks in `wait` on the script: a trap that runs just before `wait`
#   starts would be lost until the script ends. It sleeps in ticks of at most a second instead,
#   which every trap (SIGCHLD included) cuts short, and re-checks everything after each one.
# - A graceful stop (SIGTERM or SIGINT, the cancel file, max-time) sends exactly one signal to
#   every process of the step, then waits until all of them have exited — not only the script's
#   shell, which often dies at once while Terraform, its child, cleans up — or the grace ends; then
#   it SIGKILLs what is left. Later requests are only logged: a second SIGINT makes Terraform abort
#   urgently. The step's exit code is the shell's.
# - Traps only set flags: in bash they can run inside `wait 2>/dev/null` and could not even log.

# ---------------------------------------------------------------------------------------------------
# Signals, first: a stop request that arrives while the supervisor sets up is kept, not lost

tick_pid=
woke=
requests=0
last_request=
noted_requests=0
signalled=
immediate=
phase=script

# Counts the traps that ran: a `wait` that one of them may have cut short proves nothing (reap).
traps=0

# shellcheck disable=SC2317 # run by traps
wake() {
  traps=$((traps + 1))
  woke=1
  if [ -n "$tick_pid" ]; then kill -KILL "$tick_pid" 2>/dev/null; fi
}

# shellcheck disable=SC2317 # run by traps
on_stop_request() { # signal name
  requests=$((requests + 1))
  last_request=$1
  wake
}

# shellcheck disable=SC2317 # run by traps
on_immediate() {
  immediate=1
  wake
}

trap 'on_stop_request TERM' TERM
trap 'on_stop_request INT' INT
trap on_immediate USR1
trap wake CHLD
# A log reader that went away must not take the supervisor with it. Caught, not ignored, so that
# the script still starts with the default action.
trap 'traps=$((traps + 1))' PIPE

# ---------------------------------------------------------------------------------------------------
# Settings

dir=${FINALE_DIR:-}
script=${FINALE_SCRIPT:-}
after_script=${FINALE_AFTER_SCRIPT:-}
stop_signal=${FINALE_STOP_SIGNAL:-TERM}
cancel_file=${FINALE_CANCEL_FILE:-}
shell=${FINALE_SHELL:-}

# Status and exit codes (SUPERVISOR_EXIT in contract.ts).
EXIT_STOPPED=240
EXIT_TIMED_OUT=241
EXIT_ERROR=242
RESERVED_REPLACEMENT=1

# Centiseconds between checks of everything: the cancel file, the clock, the script. Traps cut each
# wait short, but bash may hold back a signal that lands just before `wait` starts until `wait`
# returns: the tick bounds what such a signal can cost.
POLL_CS=100

say() {
  printf 'finale: %s\n' "$*" >&2
}

write_status() { # outcome exit stop
  printf 'outcome=%s exit=%s stop=%s\n' "$1" "$2" "$3" >"$dir/status"
}

setup_error() {
  say "error: $*"
  if [ -n "$dir" ] && [ -d "$dir" ] && [ -w "$dir" ]; then write_status error 0 none; fi
  exit "$EXIT_ERROR"
}

# Seconds ("30", "0.5") to centiseconds in $cs; fails on anything else.
to_cs() {
  case $1 in
    '' | . | *[!0-9.]* | *.*.*) return 1 ;;
  esac
  int=${1%%.*}
  frac=${1#"$int"}
  frac=${frac#.}00
  frac=${frac%"${frac#??}"}
  # Leading zeros would make the number octal.
  while :; do
    case $int in
      0?*) int=${int#0} ;;
      *) break ;;
    esac
  done
  # The 1 in front of the fraction keeps "08" from being read as octal too.
  cs=$((${int:-0} * 100 + 1$frac - 100))
}

# Centiseconds to seconds ("30", "0.05") in $secs, for sleep and the log.
to_secs() {
  secs=$(($1 / 100))
  rest=$(($1 % 100))
  if [ "$rest" -ge 10 ]; then
    secs=$secs.$rest
  elif [ "$rest" -gt 0 ]; then
    secs=$secs.0$rest
  fi
}

# A monotonic-enough clock in centiseconds, in $now. /proc/uptime is read without forking;
# elsewhere (macOS under the embedded engine) whole seconds from date have to do.
now_cs() {
  if [ -r /proc/uptime ] && read -r up _ </proc/uptime; then
    up_int=${up%%.*}
    up_frac=${up#*.}00
    up_frac=${up_frac%"${up_frac#??}"}
    now=$((up_int * 100 + 1$up_frac - 100))
  else
    now=$(($(date +%s) * 100))
  fi
}

readable() {
  [ -f "$1" ] && [ -r "$1" ]
}
[ -n "$dir" ] || setup_error "FINALE_DIR is not set"
if ! [ -d "$dir" ] || ! [ -w "$dir" ]; then setup_error "FINALE_DIR=$dir is not a writable directory"; fi
[ -n "$script" ] || setup_error "FINALE_SCRIPT is not set"
readable "$script" || setup_error "FINALE_SCRIPT=$script is not a readable file"
if [ -n "$after_script" ]; then
  readable "$after_script" || setup_error "FINALE_AFTER_SCRIPT=$after_script is not a readable file"
fi
case $stop_signal in
  TERM | SIGTERM) stop_signal=TERM ;;
  INT | SIGINT) stop_signal=INT ;;
  *) setup_error "FINALE_STOP_SIGNAL=$stop_signal: expected TERM or INT" ;;
esac
to_cs "${FINALE_STOP_GRACE:-30}" || setup_error "FINALE_STOP_GRACE=$FINALE_STOP_GRACE: expected seconds"
grace_cs=$cs
to_cs "${FINALE_MAX_TIME:-0}" || setup_error "FINALE_MAX_TIME=$FINALE_MAX_TIME: expected seconds"
max_time_cs=$cs
to_cs "${FINALE_AFTER_SCRIPT_TIMEOUT:-600}" ||
  setup_error "FINALE_AFTER_SCRIPT_TIMEOUT=$FINALE_AFTER_SCRIPT_TIMEOUT: expected seconds"
after_timeout_cs=$cs

# The absolute path of a command in $found, searched without forking. setsid and env look up the
# commands they run themselves, and every failed guess along PATH is an execve.
find_command() {
  case $1 in
    */*)
      found=$1
      [ -f "$found" ] && [ -x "$found" ]
      return
      ;;
  esac
  rest=${PATH:-/usr/bin:/bin}:
  while [ -n "$rest" ]; do
    path_dir=${rest%%:*}
    rest=${rest#*:}
    found=${path_dir:-.}/$1
    if [ -f "$found" ] && [ -x "$found" ]; then return 0; fi
  done
  return 1
}

# Bitbucket runs the script with bash when the image has it, and with sh otherwise.
if [ -n "$shell" ]; then
  find_command "$shell" || setup_error "FINALE_SHELL=$shell: no such command"
elif ! find_command bash; then
  find_command sh || setup_error "no sh on PATH"
fi
shell=$found

if [ -n "${BITBUCKET_CLONE_DIR:-}" ]; then
  cd "$BITBUCKET_CLONE_DIR" 2>/dev/null || setup_error "BITBUCKET_CLONE_DIR=$BITBUCKET_CLONE_DIR: cannot cd there"
fi

# How the script gets its own process group. Shells with job control (bash, even without a tty)
# give every background job one, with SIGINT left alone. dash and busybox ash turn `set -m` off
# without a tty; there a background child execs setsid, which does not fork because the child is
# no group leader, so $! is the new group's id.
job_control=
launcher=
set -m 2>/dev/null
case $- in
  *m*) job_control=1 ;;
esac
set +m
if [ -n "$job_control" ]; then
  :
elif find_command setsid; then
  launcher=$found
else
  setup_error "cannot give the script its own process group: $0 needs setsid (util-linux or busybox) or a shell with job control (bash)"
fi

# Without job control, POSIX starts background commands with SIGINT and SIGQUIT ignored, and a
# shell cannot trap a signal that was ignored when it started: a stop by SIGINT would not reach the
# script's traps, nor Python. GNU env can reset them; Go programs (Terraform, Helm) reset them
# themselves.
if [ "$stop_signal" = INT ] && [ -z "$job_control" ]; then
  if find_command env && "$found" --default-signal=INT,QUIT true 2>/dev/null; then
    launcher="$launcher $found --default-signal=INT,QUIT"
  else
    say "warning: this image can only start the script with SIGINT ignored (no job control in sh, no GNU env): shell traps and Python will not see the stop signal; Terraform and Helm will"
  fi
fi

# Steps write output variables here (Bitbucket's output-variables).
BITBUCKET_PIPELINES_VARIABLES_PATH=$dir/output-variables
export BITBUCKET_PIPELINES_VARIABLES_PATH
: >"$BITBUCKET_PIPELINES_VARIABLES_PATH" || setup_error "cannot write $BITBUCKET_PIPELINES_VARIABLES_PATH"

# Contained: PID 1 of a PID namespace whose /proc is mounted (its own pid reads 1 there). Every
# other process in that /proc is then the step's.
contained=
if [ "$$" = 1 ] && read -r self_stat 2>/dev/null </proc/self/stat; then
  case $self_stat in
    '1 '*) contained=1 ;;
  esac
fi

# Logs the stop requests that change nothing: during a stop, and during the after-script.
note_requests() {
  [ "$requests" -gt "$noted_requests" ] || return 0
  if [ -n "$signalled" ]; then
    say "SIG$last_request received again: the $phase is already being stopped; sending nothing more"
  elif [ "$phase" = after-script ]; then
    say "SIG$last_request received during the after-script: it keeps its own time budget"
  else
    return 0
  fi
  noted_requests=$requests
}

# Waits for a child that has ended or been killed; its status in $reaped. Above 128, the status may
# be a trap's (SIGCHLD above all) that cut `wait` short, even after busybox reaped the child. The
# shell remembers a reaped child's status, so it asks again until a `wait` that no trap ran during
# answers (or the shell has forgotten the child: 127). A repeated answer is not enough: when a
# contained stop kills a tree, PID 1 gets one SIGCHLD per orphan, and two waits in a row can both
# be cut short (busybox: 145, 128 + SIGCHLD).
reap() { # pid
  reaped=
  while :; do
    traps_before=$traps
    wait "$1" 2>/dev/null
    answer=$?
    if [ "$answer" = 127 ] && [ -n "$reaped" ]; then return; fi
    reaped=$answer
    if [ "$answer" -le 128 ] || [ "$traps" = "$traps_before" ]; then return; fi
  done
}

# Sleeps up to $1 centiseconds, or less if a trap fires. The order matters: a trap that runs before
# $tick_pid is set leaves $woke, one that runs after kills the sleep, so `wait` never misses it.
# SIGKILL, because a child that has not exec'd sleep yet would swallow any other signal in the
# handlers it inherited from this shell. What is awaited is looked at once more just before `wait`:
# bash reaps children in its SIGCHLD handler but may run the trap only after `wait`.
tick() {
  tick_pid=
  to_secs "$1"
  # The C locale spares GNU sleep a dozen locale file lookups.
  LC_ALL=C sleep "$secs" &
  tick_pid=$!
  if [ -z "$woke" ] && ! unit_done; then wait "$tick_pid" 2>/dev/null; fi
  kill -KILL "$tick_pid" 2>/dev/null
  reap "$tick_pid"
  tick_pid=
}

# ---------------------------------------------------------------------------------------------------
# Running a unit (the script or the after-script) in its own process group

unit_pid=
# Set once the unit's shell has been reaped: its pid may then belong to someone else.
unit_reaped=
unit_code=
# Set while a stop waits for every process of the unit, not only its shell.
whole=

start_unit() { # name file
  unit_reaped=
  unit_code=
  whole=
  if [ -n "$job_control" ]; then set -m; fi
  # shellcheck disable=SC2086 # $launcher is a command prefix, split on purpose
  $launcher "$shell" "$2" </dev/null &
  unit_pid=$!
  if [ -n "$job_control" ]; then set +m; fi
  echo "$unit_pid" >"$dir/$1.pgid"
}

# Whether the unit's shell has exited. An exited child that the shell has not reaped yet still
# answers kill -0; /proc tells it apart.
unit_exited() {
  [ -n "$unit_reaped" ] && return 0
  kill -0 "$unit_pid" 2>/dev/null || return 0
  # A zombie has no exe; one stat() settles the usual case. Only a process whose exe is hidden
  # (another owner, not dumpable) needs its state read.
  [ -e "/proc/$unit_pid/exe" ] && return 1
  # stat is one line, read whole: bash's `read` buffers regular files, and lines left unread
  # (of status, say) would come back from its next `read` of any file.
  read -r stat 2>/dev/null <"/proc/$unit_pid/stat" || return 1
  # The state follows the command name, which may hold spaces and parentheses.
  case ${stat##*) } in
    Z*) return 0 ;;
  esac
  return 1
}

# Reaps the unit's shell once it has exited; its status, 128+n if signal n ended it, in $unit_code.
collect_unit() {
  [ -n "$unit_reaped" ] && return
  reap "$unit_pid"
  unit_code=$reaped
  unit_reaped=1
}

# Whether any process of the unit is still alive besides its shell (zombies do not count).
# Contained, that is any process but this one and its tick; otherwise the unit's process group.
others_alive() {
  if [ -z "$contained" ]; then
    # The group exists while it has members, zombies included: an orphan's zombie lasts as long as
    # whoever adopted it takes to reap it, so /proc is asked which members are alive.
    kill -0 -"$unit_pid" 2>/dev/null || return 1
    [ -r /proc/self/stat ] || return 0
  fi
  for entry in /proc/[0-9]*; do
    case ${entry#/proc/} in
      "$$" | "$tick_pid") continue ;;
    esac
    read -r stat 2>/dev/null <"$entry/stat" || continue
    # After the command name: state ppid pgrp …
    # shellcheck disable=SC2086 # split on purpose
    set -- ${stat##*) }
    case $1 in
      Z* | X*) continue ;;
    esac
    if [ -n "$contained" ] || [ "$3" = "$unit_pid" ]; then return 0; fi
  done
  return 1
}

# Whether what is awaited is over: the unit's shell; during a stop, every process of the unit.
unit_done() {
  unit_exited || return 1
  [ -n "$whole" ] || return 0
  collect_unit
  ! others_alive
}

# Waits until the unit is done (unit_done), an immediate stop, a stop request or the cancel file
# (when $2 is 1), or the deadline $1 (centiseconds, 0 = none); checks every $3 centiseconds at
# most. Sets $ended_by.
await_unit() { # deadline stoppable poll
  while :; do
    now_cs
    woke=
    note_requests
    if unit_done; then ended_by='exit'; return; fi
    if [ -n "$immediate" ]; then ended_by='immediate'; return; fi
    if [ -n "$cancel_file" ] && [ -e "$cancel_file" ]; then
      # The agent on AWS asks for an immediate stop by writing `immediate` into the cancel file.
      cancel=
      read -r cancel 2>/dev/null <"$cancel_file"
      if [ "$cancel" = immediate ]; then
        say "cancel file $cancel_file asks for an immediate stop"
        immediate=1
        ended_by='immediate'
        return
      fi
      if [ "$2" = 1 ]; then
        say "cancel file $cancel_file found"
        ended_by='request'
        return
      fi
    fi
    if [ "$2" = 1 ] && [ "$requests" -gt 0 ]; then ended_by='request'; return; fi
    wait_cs=$3
    if [ "$1" -gt 0 ]; then
      if [ "$now" -ge "$1" ]; then ended_by='deadline'; return; fi
      if [ $(($1 - now)) -lt "$wait_cs" ]; then wait_cs=$(($1 - now)); fi
    fi
    tick "$wait_cs"
  done
}

# Kills every process of the unit still alive (everything it left behind once its shell exited,
# everyone when it has to go) and reaps its shell. Right after the start, setsid may not have made
# the group yet: then the child itself.
finish_unit() {
  if [ -n "$contained" ]; then
    # From PID 1, -1 is every other process of the namespace.
    kill -9 -1 2>/dev/null
  elif [ -n "$unit_reaped" ]; then
    kill -KILL -"$unit_pid" 2>/dev/null
  else
    kill -KILL -"$unit_pid" 2>/dev/null || kill -KILL "$unit_pid" 2>/dev/null
  fi
  collect_unit
}

# Sends the one graceful signal to every process of the unit: all of the namespace when contained,
# else its group. Until setsid has made the group, the child is a fork of this shell whose inherited
# handlers would swallow the signal, so it waits for the group (a few milliseconds at most) rather
# than signal the child — contained too: `kill -1` then would reach that fork and be lost, and the
# script would run on until the grace ran out (a stop right at the start, under load).
signal_unit() {
  if [ -n "$contained" ]; then
    until kill -0 -"$unit_pid" 2>/dev/null || unit_exited; do
      woke=
      tick 1
    done
    kill -"$stop_signal" -1 2>/dev/null
    return
  fi
  until kill -"$stop_signal" -"$unit_pid" 2>/dev/null; do
    unit_exited && return
    woke=
    tick 1
  done
}

# Centiseconds between checks while a stop waits for the unit's processes: the ones that are not
# the supervisor's children end without a SIGCHLD to wake it.
STOP_POLL_CS=10

# One signal, the grace, then SIGKILL; cut short by an immediate stop. Without a grace (Bitbucket's
# own behaviour) no graceful signal at all: it would only start a cleanup that cannot finish.
stop_unit() { # why, for the log
  signalled=1
  noted_requests=$requests
  if [ "$grace_cs" = 0 ]; then
    say "$1: killing the $phase's processes (no grace period)"
  else
    signal_unit
    to_secs "$grace_cs"
    say "$1: sent SIG$stop_signal to the $phase's processes; SIGKILL in ${secs}s if any is still running"
    whole=1
    now_cs
    await_unit $((now + grace_cs)) 0 "$STOP_POLL_CS"
    whole=
    case $ended_by in
      immediate) say "immediate stop: killing the $phase's processes" ;;
      deadline) say "grace period over: killing the $phase's processes" ;;
    esac
  fi
  signalled=
  finish_unit
}

# ---------------------------------------------------------------------------------------------------
# The step

stop=none
now_cs
deadline=0
if [ "$max_time_cs" -gt 0 ]; then deadline=$((now + max_time_cs)); fi
start_unit script "$script"
await_unit "$deadline" 1 "$POLL_CS"
case $ended_by in
  exit) finish_unit ;;
  immediate)
    say "immediate stop: killing the script's processes"
    finish_unit
    ;;
  request)
    stop=graceful
    stop_unit "stop requested"
    ;;
  deadline)
    stop=timeout
    to_secs "$max_time_cs"
    stop_unit "max-time of ${secs}s reached"
    ;;
esac
script_code=$unit_code

if [ -n "$after_script" ] && [ -z "$immediate" ]; then
  phase=after-script
  noted_requests=0
  requests=0
  BITBUCKET_EXIT_CODE=$script_code
  export BITBUCKET_EXIT_CODE
  now_cs
  deadline=0
  if [ "$after_timeout_cs" -gt 0 ]; then deadline=$((now + after_timeout_cs)); fi
  start_unit after-script "$after_script"
  await_unit "$deadline" 0 "$POLL_CS"
  case $ended_by in
    exit) finish_unit ;;
    immediate)
      say "immediate stop: killing the after-script's processes"
      finish_unit
      ;;
    deadline)
      to_secs "$after_timeout_cs"
      stop_unit "the after-script ran past its ${secs}s budget"
      ;;
  esac
  note_requests
  if [ "$unit_code" != 0 ]; then
    say "the after-script failed with exit code $unit_code; the step's result does not change"
  fi
fi

if [ -n "$immediate" ]; then stop=immediate; fi
case $stop in
  immediate | graceful)
    write_status stopped "$script_code" "$stop"
    exit "$EXIT_STOPPED"
    ;;
  timeout)
    write_status timed-out "$script_code" timeout
    exit "$EXIT_TIMED_OUT"
    ;;
esac
if [ "$script_code" = 0 ]; then
  write_status succeeded 0 none
  exit 0
fi
write_status failed "$script_code" none
case $script_code in
  "$EXIT_STOPPED" | "$EXIT_TIMED_OUT" | "$EXIT_ERROR") exit "$RESERVED_REPLACEMENT" ;;
esac
exit "$script_code"
