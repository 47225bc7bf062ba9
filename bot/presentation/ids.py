"""Every action_id, block_id and callback_id deploybot uses, in one place."""

APPROVE = "deploy.approve"
REJECT = "deploy.reject"
APPROVAL_BLOCK = "deploy.approval"
QUEUE_FOR_WINDOW = "deploy.queue_for_window"
WINDOW_BLOCK = "deploy.window"
SCHEDULED_BLOCK = "deploy.scheduled"
START_SCHEDULED = "deploy.start_scheduled"
CANCEL_SCHEDULED = "deploy.cancel_scheduled"
APPROVE_AHEAD = "deploy.approve_ahead"  # approve a deploy waiting for its window, ahead of it
VERDICT_BLOCK = "deploy.verdict"  # Rollback / Keep after a failed watch
ROLL_BACK = "deploy.roll_back"
KEEP = "deploy.keep"
TURN_FLAG_OFF = "deploy.turn_flag_off"  # the kill switch beside them: "<deployment id>:<flag>"
#: One action_id per kill switch shown (at most 3): Slack refuses a block whose action_ids
#: repeat (https://docs.slack.dev/reference/block-kit/block-elements/button-element).
TURN_FLAG_OFF_2 = f"{TURN_FLAG_OFF}.2"
TURN_FLAG_OFF_3 = f"{TURN_FLAG_OFF}.3"
TURN_FLAG_OFF_IDS = (TURN_FLAG_OFF, TURN_FLAG_OFF_2, TURN_FLAG_OFF_3)
ABORT_BLOCK = "deploy.abort_block"  # Abort while a deploy rolls out or is watched
ABORT = "deploy.abort"
DOWNGRADE_BLOCK = "deploy.downgrade"  # confirm a downgrade by name
CONFIRM_DOWNGRADE = "deploy.confirm_downgrade"  # request it again, confirmed
APPROVE_DOWNGRADE = "deploy.approve_downgrade"  # approve it, confirmed
HOME_VIEW = "deploy.home"  # callback_id of the App Home tab's view
HOME_APPROVAL_BLOCK = "deploy.home.approval"  # + ".<deployment id>": block ids are unique
CHECKLIST_BLOCK = "deploy.checklist"  # the card's pre-deployment checklist (its place)
CHECKLIST_TICK = "deploy.checklist.tick"  # a checkbox: item ticked / unticked
CHECKLIST_ITEM_BLOCK = "deploy.checklist.item"  # + ".<deployment id>.<item>"
CHECKLIST_NOT_APPLICABLE = "deploy.checklist.na"  # a button: "not applicable" (asks why)
CHECKLIST_NA_BLOCK = "deploy.checklist.na_item"  # + ".<deployment id>.<item>"
TROUBLESHOOT_BLOCK = "deploy.troubleshoot"  # Pods / Logs under a failed rollout or watch
SHOW_PODS = "deploy.troubleshoot.pods"  # value: the deployment id
SHOW_LOGS = "deploy.troubleshoot.logs"  # value: the deployment id
LINKS_BLOCK = "deploy.links"  # the card's dashboard / runbook / logs links

DEPLOY_FORM = "deploy.form"  # callback_id of the /deploy modal (`/deploy` with no text)
# The /deploy modal's input blocks; each block's one element has the same action_id.
FORM_SERVICE = "deploy.form.service"
FORM_ENVIRONMENT = "deploy.form.environment"
FORM_VERSION = "deploy.form.version"  # a select of recent versions / tags
FORM_VERSION_TYPED = "deploy.form.version_typed"  # or the version typed
FORM_EMERGENCY = "deploy.form.emergency"  # a checkbox
FORM_REASON = "deploy.form.reason"  # the emergency's reason
NA_FORM = "deploy.checklist.na_form"  # callback_id of the modal asking why an item is N/A
NA_REASON = "deploy.checklist.na_form.reason"  # its input block (and the input's action_id)
REJECT_FORM = "deploy.reject_form"  # callback_id of the modal Reject opens (the reason)
REJECT_REASON = "deploy.reject_form.reason"  # its input block (and the input's action_id)
APP_HOME_OPENED = "app_home_opened"  # the Events API event the tab is published on

DEPLOY_COMMAND = "/deploy"
DEPLOYS_COMMAND = "/deploys"
FREEZE_COMMAND = "/freeze"
MIGRATIONS_COMMAND = "/migrations"
MIGRATE_COMMAND = "/migrate"
FLAG_COMMAND = "/flag"
AUDIT_COMMAND = "/audit"
LOCK_COMMAND = "/lock"
UNLOCK_COMMAND = "/unlock"
ROLLBACK_COMMAND = "/rollback"
CI_COMMAND = "/ci"
ROLLOUT_COMMAND = "/rollout"
PODS_COMMAND = "/pods"
LOGS_COMMAND = "/logs"
EVENTS_COMMAND = "/events"
FLAGS_COMMAND = "/flags"
ROLLBACK_BLOCK = "rollback.plan"
ROLLBACK_CONFIRM = "rollback.confirm"
