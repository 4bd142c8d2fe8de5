"""Processing on the organisation's own machines: Dask distributed with mutual TLS of a private CA.

- `nodes`: the scheduler and the workers (`start_scheduler`, `start_worker`, `security`), Dask's own with
  admission checks and nothing written to disk.
- `remote`: the workstation's side (`process_remote`, `cluster_runner`), the same contract as
  `workstation.speech.sealed.run_pipeline`.
- The certificates: `workstation.platform.tls` (`init_ca`, `issue`, `revoke`).

README "Processing on several machines" is the user-facing guide; docs/ARCHITECTURE.md the contract.
"""

from workstation.services.cluster.nodes import (
    DEFAULT_PORT,
    CertifiedScheduler,
    CertifiedSecurity,
    CertifiedWorker,
    ClusterError,
    configure_dask,
    run_scheduler,
    run_worker,
    security,
    start_scheduler,
    start_worker,
)
from workstation.services.cluster.remote import (
    ClusterLostError,
    ClusterRefusedError,
    ClusterUnreachableError,
    cluster_runner,
    connect,
    process_remote,
    process_window,
    worker_threads,
)

__all__ = [
    "DEFAULT_PORT",
    "CertifiedScheduler",
    "CertifiedSecurity",
    "CertifiedWorker",
    "ClusterError",
    "ClusterLostError",
    "ClusterRefusedError",
    "ClusterUnreachableError",
    "cluster_runner",
    "configure_dask",
    "connect",
    "process_remote",
    "process_window",
    "run_scheduler",
    "run_worker",
    "security",
    "start_scheduler",
    "start_worker",
    "worker_threads",
]
