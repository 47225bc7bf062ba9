"""Every action_id, block_id and callback_id deploybot uses, in one place."""

APPROVE = "deploy.approve"
REJECT = "deploy.reject"
APPROVAL_BLOCK = "deploy.approval"

DEPLOY_COMMAND = "/deploy"
DEPLOYS_COMMAND = "/deploys"
