"""The deployment runner: takes approved deployments and carries them to a result.

One class, `DeploymentRunner`, put together from one module per concern:

- `base`      its configuration and state, the deploy window (`Gate`, `window_for`),
              `VerifyPlan`, the abort signal (`Aborted`, `check_abort`);
- `leases`    the pool, the lease (claim, heartbeat, release), `hand_back()`, `resume()`,
              and the transition guarded by it (`LostLease`, `HandedBack`);
- `jobs`      the backup and migration Jobs before a rollout (`job_cause`);
- `verdicts`  what happens after a failed watch or rollout, or an abort (rollback, Keep);
- `pipeline`  one deployment from its claim to its result: start checks, migrations,
              rollout, watch, the end (announce, and the waiting cards' "Running now").
"""

from bot.services.runner.base import Aborted, Gate, VerifyPlan, check_abort, window_for
from bot.services.runner.jobs import job_cause
from bot.services.runner.leases import HandedBack, LostLease
from bot.services.runner.pipeline import Pipeline


class DeploymentRunner(Pipeline):
    """Follows deployments on a pool of worker threads: `submit(id)`, `resume()` after a
    restart, `wait_idle()`, `hand_back()` on SIGTERM, `shutdown()`."""


__all__ = ["Aborted", "DeploymentRunner", "Gate", "HandedBack", "LostLease", "VerifyPlan",
           "check_abort", "job_cause", "window_for"]
