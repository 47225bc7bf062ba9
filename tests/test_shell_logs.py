"""`deploybot shell --cluster fake`: `/logs` in a session shows the shared file (its name,
size and first lines) where people would see it, after the ephemeral answer's link."""

from __future__ import annotations

from pathlib import Path

from tests.test_shell_kubernetes import flat, shell


def test_logs_in_the_shell_show_the_shared_file(database_url: str, tmp_path: Path) -> None:
    code, out = shell(database_url, "/deploy staging v1.2.3\n/logs staging --tail 5\n",
                      tmp_path)
    assert code == 0, out
    text = flat(out)
    assert "Reading the log of `api` in staging (its least healthy pod, `--tail 5`)" in text
    assert "[#C0DEPLOYS] ↳ 📄 Log of `api-" in text  # in the deploy's thread
    assert "📎 api-staging-api-" in text
    assert "│ starting api from registry.example/api:v1.2.3 │ api ready" in text
    assert "in the deployment's thread (2 lines). Open the file" in text
