"""The shell's `help`: its input language in one text (`HELP`), the slash commands, `as`,
`click`, `submit`, `cancel`, `messages`, `home`, `wait`, `advance`, `at`, `merge`, `help` and
`quit`, each with an example. What each does is devtools.shell.session's.
"""

HELP = """\
Type what you would type in Slack, plus a few shell commands:
  /deploy production v1.2.3   any slash command, sent as the current user
  /deploy status              (the bot's own help: /deploy help)
  as U0BOB                    become another Slack user (the prompt shows who you are)
  click approve               press the Approve button on the latest message that has one
  click approve #3            ... or the button of deployment #3; `click` lists the buttons
                              (also those of replies only you see: `click confirm`)
  click reject #3 not yet     Reject asks why in a form: the reason follows the button
                              (so does a checklist item's: `click na-rollback_plan #3 why`)
  submit environment=production version=v1.2.3
                              fill in the form that opened (`/deploy` alone opens one; its
                              fields are listed) and submit it: fields by label or name,
                              a choice by its text; quote values with spaces
                              (`emergency="the checkout is down"`); a refused form stays
                              open: `submit` what to change
  cancel                      close the open form (its ✕)
  messages                    show the deployments channel as it looks now
  messages U0ALICE            show the bot's direct messages to a user
  home                        open your App Home tab (as Slack does) and show it; its
                              buttons: `click home approve #2`
  wait                        wait until running deployments have finished
  advance 2h                  move time on (30m, 1d, 1h30m): the scheduler's jobs that fall
                              due run in order (warnings, expiry, queued deploys released)
  at 2026-12-04 13:55         move time on to then (the team's zone); never backwards
  merge api v1.2.3 Fix it     (with --github fake) your pull request ("Fix it", or
                              "Release v1.2.3") merged into main, its commit tagged
                              v1.2.3; main deploys itself to staging when the bot next
                              polls GitHub (`advance 1m`), naming the merge as its cause
  help                        this text
  quit                        leave (also: exit, Ctrl-D)
An edited message shows only the lines that changed; `messages` shows messages whole.
Lines starting with # are comments (a --script shows them, as narration)."""
