#!/bin/sh
# Behaves like `terraform apply` towards signals: the first SIGINT or SIGTERM starts a graceful
# shutdown that releases the state lock; a second signal aborts at once and leaves the lock behind;
# SIGKILL leaves it behind too. State lives under $EXAMPLE_STATE (default /tmp/finale-example):
# not a FINALE_ name, as Finale keeps those out of steps.
set -eu
state="${EXAMPLE_STATE:-/tmp/finale-example}/terraform"
lock="$state/terraform.tflock"
mkdir -p "$state"

case "${1:-}" in
  plan)
    if [ -e "$lock" ]; then
      echo "Error acquiring the state lock: held by $(cat "$lock")" >&2
      exit 1
    fi
    echo "Plan: 3 to add, 0 to change, 0 to destroy."
    ;;
  apply)
    if [ -e "$lock" ]; then
      echo "Error acquiring the state lock: held by $(cat "$lock")" >&2
      exit 1
    fi
    echo "build ${BITBUCKET_BUILD_NUMBER:-0}" > "$lock"
    echo "Acquired the state lock."
    interrupts=0
    on_signal() {
      interrupts=$((interrupts + 1))
      if [ "$interrupts" -gt 1 ]; then
        echo "Two interrupts received. Exiting immediately. The state lock is left behind." >&2
        exit 1
      fi
      echo "Interrupt received. Gracefully shutting down..."
      rm -f "$lock"
      echo "Released the state lock."
      exit 1
    }
    trap on_signal INT TERM
    seconds="${FAKE_TERRAFORM_SECONDS:-20}"
    i=0
    while [ "$i" -lt "$seconds" ]; do
      i=$((i + 1))
      echo "aws_instance.web[$i]: Still creating... [${i}s elapsed]"
      sleep 1
    done
    rm -f "$lock"
    echo "Apply complete! Resources: 3 added, 0 changed, 0 destroyed."
    ;;
  check-lock)
    if [ -e "$lock" ]; then
      echo "STALE STATE LOCK: $(cat "$lock") — the apply was killed without a chance to clean up."
      echo "(remove it with: rm $lock)"
    else
      echo "No state lock is held: the apply finished or shut down gracefully."
    fi
    ;;
  *)
    echo "usage: fake-terraform.sh plan|apply|check-lock" >&2
    exit 2
    ;;
esac
