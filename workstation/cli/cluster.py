"""`workstation cluster ...`: the organisation's CA, and Dask's scheduler and workers with mutual TLS.

    workstation cluster init DIR                       a private CA + scheduler, client, worker-1, worker-2
    workstation cluster issue DIR NAME                 a certificate for one more worker (DIR/NAME/)
    workstation cluster revoke DIR NAME                revoke one (new CRL in every folder of DIR)
    workstation cluster scheduler --tls DIR/scheduler [--host H] [--port P]
    workstation cluster worker tls://H:P --tls DIR/worker-1 [--nthreads N]

Thin: the certificates are `workstation.platform.tls`, the nodes `workstation.services.cluster`.
Dask is imported only by the two serving commands (it takes a second to load).
"""

from __future__ import annotations

from pathlib import Path

import typer

from workstation.platform import tls

cluster_app = typer.Typer(
    help="Process on the organisation's own machines: private CA, Dask scheduler and workers (mutual TLS).",
    no_args_is_help=True,
)
TlsOpt = typer.Option(..., "--tls", help="This machine's certificate folder (made by `cluster init` / `issue`).")


@cluster_app.command("init")
def init(
    directory: Path = typer.Argument(..., help="New folder for the CA and the machines' certificate folders."),
    workers: int = typer.Option(2, "--workers", min=0, help="Worker certificates to make now (worker-1 ...)."),
    organisation: str = typer.Option(tls.DEFAULT_ORGANISATION, "--organisation", help="Name in the certificates."),
) -> None:
    """Create the organisation's private CA and certificates for the scheduler, this workstation and workers."""
    made = tls.init_ca(directory, workers=workers, organisation=organisation)
    typer.echo(f"Created a private CA in {directory / tls.CA_FOLDER} (its key never leaves this computer).")
    for entry in made:
        typer.echo(f"  {entry.role:<9} {directory / entry.name}")
    typer.echo("Copy each machine's folder to that machine only (over a USB stick or scp), keep ca/ here.")


@cluster_app.command("issue")
def issue(
    directory: Path = typer.Argument(..., help="The folder made by `cluster init`."),
    name: str = typer.Argument(..., help="Name of the new machine, e.g. worker-3 or gpu-1."),
    role: str = typer.Option("worker", "--role", help="worker (default), scheduler or client."),
) -> None:
    """Issue a certificate for one more machine (DIR/NAME/)."""
    entry = tls.issue(directory, name, role)
    typer.echo(f"Issued a {entry.role} certificate: {directory / entry.name} (serial {entry.serial:x}).")


@cluster_app.command("revoke")
def revoke(
    directory: Path = typer.Argument(..., help="The folder made by `cluster init`."),
    name: str = typer.Argument(..., help="The machine whose certificate is revoked."),
) -> None:
    """Revoke a machine's certificate: the scheduler refuses it within seconds (copy crl.pem if it runs elsewhere)."""
    entry = tls.revoke(directory, name)
    typer.echo(f"Revoked {entry.name} ({entry.role}, serial {entry.serial:x}). The new revocation list is in "
               f"every folder of {directory}; a scheduler running from one of them re-reads it within seconds. "
               "If the scheduler runs on another machine, copy crl.pem into its folder there.")


@cluster_app.command("scheduler")
def scheduler(
    tls_dir: Path = TlsOpt,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (this machine's LAN address)."),
    port: int = typer.Option(8786, "--port", help="TLS port (0: any free port)."),
) -> None:
    """Run the Dask scheduler with the organisation's certificates (TLS only, no dashboard)."""
    from workstation.services import cluster  # lazy: Dask loads only for the serving commands

    def ready(address: str) -> None:
        typer.echo(f"Scheduler listening at {address} (mutual TLS; Ctrl+C stops it).", err=False)

    cluster.start_scheduler(tls_dir, host=host, port=port, ready=ready)


@cluster_app.command("worker")
def worker(
    address: str = typer.Argument(..., help="The scheduler's address, tls://HOST:PORT."),
    tls_dir: Path = TlsOpt,
    nthreads: int = typer.Option(1, "--nthreads", min=1, help="Windows processed at once on this machine."),
    host: str | None = typer.Option(None, "--host", help="Address to listen on (default: facing the scheduler)."),
    rejoin: bool = typer.Option(True, "--rejoin/--no-rejoin", help="Join again when the scheduler comes back."),
) -> None:
    """Run a Dask worker that processes windows of recordings in sealed, network-less workers, storing nothing."""
    from workstation.services import cluster  # lazy: Dask loads only for the serving commands

    def ready(listening: str) -> None:
        typer.echo(f"Worker listening at {listening}, joined {address} (Ctrl+C stops it).")

    cluster.start_worker(address, tls_dir, nthreads, host=host, ready=ready, rejoin=rejoin)


def register(app: typer.Typer) -> None:
    """Add the `cluster` group to the top-level app."""
    app.add_typer(cluster_app, name="cluster")
