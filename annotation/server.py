"""Starting and stopping a local Label Studio server (the pinned one in `.venv-ls`), offline and on loopback.

The server's admin account and API token come from the environment (`LABEL_STUDIO_API_KEY`,
`LABEL_STUDIO_PASSWORD`); when they are not set, `serve` generates them once and keeps them in the data dir
(mode 0600, next to Label Studio's own SECRET_KEY), never in logs or in `mmra.toml`.
A pre-migrated, account-less template database (`<cache>/ls-template-<version>/`) turns the 30-60 s of
migrations of every new data dir into one build, then a few seconds per start.

Access (README "Security notes"): signup is closed (annotators are created by `mmra annotate users add`,
through a one-time invite link that only the admin can read), a gate inside the server (ls_guard.py) lets
every account but the admin write only as itself and only annotate, Django's ALLOWED_HOSTS is pinned to the
loopback names so a foreign Host header (DNS rebinding) is refused, and the server runs with umask 077 in a
0700 data dir: its database, SECRET_KEY, exports and logs are readable by the operator's account only.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
import stat
from dataclasses import dataclass
from pathlib import Path

from mmra.config import Config, LabelStudioConfig, secret
from mmra.errors import MMRAError
from mmra.procs import LOOPBACK, ServerState, start_server, stop_server

DB_NAME = "label_studio.sqlite3"
CREDENTIALS_FILE = ".mmra-credentials.json"
ACCOUNTS_FILE = ".mmra-accounts.json"  # the accounts the toolkit created (see users.AccountRegistry)
STATE_FILE = "server.json"
MEDIA_DIR = "media-root"  # LOCAL_FILES_DOCUMENT_ROOT; images live in its `images/` subfolder
IMAGES_SUBDIR = "images"
PASSWORD_ENV = "LABEL_STUDIO_PASSWORD"
# the only Host headers the server answers (Django ALLOWED_HOSTS): it binds 127.0.0.1, and an SSH tunnel's
# browser side says localhost; anything else is a DNS-rebinding attempt or a misrouted request
ALLOWED_HOSTS = ("127.0.0.1", "localhost", "[::1]")

# Label Studio reads LABEL_STUDIO_X, then HEARTEX_X, then plain X: plain names from the caller's shell
# (HOST, PORT, CI, ...) would silently change the server, so they are removed from its environment.
_SCRUB = ("HOST", "PORT", "USERNAME", "PASSWORD", "DEBUG", "CI", "USER_TOKEN", "BASE_DATA_DIR",
          "LABEL_STUDIO_API_KEY", "LABEL_STUDIO_URL", "DJANGO_DB", "DATABASE_URL", "DJANGO_SETTINGS_MODULE",
          "PYTHONPATH")


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    token: str


@dataclass(frozen=True)
class Connection:
    """Where a Label Studio server is and how to talk to it."""

    url: str
    token: str
    data_dir: Path | None = None  # None for a remote server
    document_root: Path | None = None  # where pushed images are linked (served as local files)
    accounts_file: Path | None = None  # the registry of accounts the toolkit created (users.AccountRegistry)

    @property
    def media_dir(self) -> Path | None:
        return self.document_root / IMAGES_SUBDIR if self.document_root else None


def _private_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    tmp.replace(path)


def credentials(cfg: LabelStudioConfig, *, create: bool = False) -> Credentials | None:
    """Admin credentials: environment first, else the data dir's private file (generated when `create`)."""
    stored: dict = {}
    cred_file = Path(cfg.data_dir) / CREDENTIALS_FILE
    if cred_file.exists():
        try:
            stored = json.loads(cred_file.read_text())
        except ValueError:
            raise MMRAError(f"{cred_file} is not valid JSON; delete it to generate new credentials") from None
    token = secret("label_studio_token") or stored.get("token")
    password = os.environ.get(PASSWORD_ENV) or stored.get("password")
    if (not token or not password) and create and not (Path(cfg.data_dir) / DB_NAME).exists():
        # a new account: generate what the environment does not give, and keep only the generated values
        # (secrets from the environment are never written anywhere)
        generated = {"username": cfg.username}
        if not token:
            token = generated["token"] = secrets.token_hex(20)
        if not password:
            password = generated["password"] = secrets.token_urlsafe(18)
        _private_write(cred_file, json.dumps(generated))
    if not token or not password:
        if create:
            raise MMRAError(f"{cfg.data_dir} already holds a Label Studio database but no credentials: set "
                            "LABEL_STUDIO_API_KEY and LABEL_STUDIO_PASSWORD to the account it was created with")
        return None
    return Credentials(cfg.username, password, token)


def server_env(data_dir: Path, document_root: Path, creds: Credentials | None, base: dict | None = None
               ) -> dict[str, str]:
    """The environment the Label Studio process runs with: offline, local files on, our account (created on
    the first start with it; a template is built without one)."""
    env = dict(os.environ if base is None else base)
    for name in _SCRUB:
        env.pop(name, None)
    for name in list(env):
        if name.startswith(("LABEL_STUDIO_", "HEARTEX_")):
            env.pop(name)
    env.update({
        "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",  # effective only when the organisation is created
        "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED": "true",
        "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT": str(document_root),
        # no self-registration: only the invite link (organisation token) signs up, and the toolkit resets
        # that token after each account it creates (users.create_annotator)
        "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
        "LABEL_STUDIO_ALLOWED_HOSTS": ",".join(ALLOWED_HOSTS),
        # offline: no version check against PyPI, no telemetry, no Sentry
        "LABEL_STUDIO_LATEST_VERSION_CHECK": "false",
        "LABEL_STUDIO_COLLECT_ANALYTICS": "false",
        "SENTRY_DSN": "",
        "FRONTEND_SENTRY_DSN": "",
        "PYTHONUNBUFFERED": "1",
    })
    if creds is not None:
        env.update({"LABEL_STUDIO_USERNAME": creds.username, "LABEL_STUDIO_PASSWORD": creds.password,
                    "LABEL_STUDIO_USER_TOKEN": creds.token})
    return env


def harden(data_dir: Path) -> None:
    """Make the data dir private to the operator: folders 0700, files 0600 (database, SECRET_KEY in `.env`,
    credentials, logs, exports); pushed images (media.MEDIA_FILE_MODE) lose any world bit. A file with
    several hard links is an image an older push linked to its original (chmod would change the original
    too): the 0700 folders above it keep it from other accounts."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    media_root = data_dir / MEDIA_DIR
    for root, _dirs, files in os.walk(data_dir):
        os.chmod(root, 0o700)
        private = 0o007 if Path(root).is_relative_to(media_root) else 0o077
        for name in files:
            path = Path(root) / name
            st = path.lstat()
            if stat.S_ISREG(st.st_mode) and st.st_nlink == 1 and st.st_mode & private:
                os.chmod(path, stat.S_IMODE(st.st_mode) & ~private)


# The gate (ls_guard.py: authorship fixed by the server, annotator accounts limited to annotating, the invite
# token for the admin only), loaded into Label Studio's own Python by file path: that venv has no mmra
GUARD_FILE = Path(__file__).with_name("ls_guard.py")
GUARD_MODULE = "mmra_ls_guard"
# Django chmods every file it stores (exports, uploads) to FILE_UPLOAD_PERMISSIONS, 0644 by default, whatever
# the umask; Label Studio has no setting for it, so the server starts through this preamble, which sets the
# default before Label Studio's settings load, installs the gate, then runs `label-studio` itself (its console
# script's body)
_BOOT = ("import sys, importlib.util, django.conf.global_settings as g; g.FILE_UPLOAD_PERMISSIONS = 0o600; "
         "g.FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700; "
         f"spec = importlib.util.spec_from_file_location({GUARD_MODULE!r}, {str(GUARD_FILE)!r}); "
         f"guard = importlib.util.module_from_spec(spec); sys.modules[{GUARD_MODULE!r}] = guard; "
         "spec.loader.exec_module(guard); guard.install(); sys.argv[0] = 'label-studio'; "
         "from label_studio.server import main; sys.exit(main())")


def _private_file(path: Path) -> None:
    """Create `path` empty with mode 0600 unless it exists (the server log: opened for appending later)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))


def _absolute(cfg: LabelStudioConfig) -> LabelStudioConfig:
    return cfg.model_copy(update={"data_dir": Path(cfg.data_dir).resolve(), "venv": Path(cfg.venv).resolve()})


def template_dir_for(cache: Path, venv: Path) -> Path:
    """Where the pre-migrated database for this Label Studio version lives (one per installed version)."""
    dists = sorted(Path(venv).glob("lib/python*/site-packages/label_studio-*.dist-info"))
    version = dists[-1].name.removeprefix("label_studio-").removesuffix(".dist-info") if dists else "unknown"
    return Path(cache) / f"ls-template-{version}"


def seed_from_template(data_dir: Path, template_dir: Path, venv: Path) -> bool:
    """Copy the pre-migrated, account-less database into a data dir that has none (building it once)."""
    if (data_dir / DB_NAME).exists():
        return False
    template_db = build_template(template_dir, venv)
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = data_dir / (DB_NAME + ".tmp")
    shutil.copyfile(template_db, tmp)  # not copy2: the copy gets 0600, not the template's mode
    os.chmod(tmp, 0o600)
    tmp.replace(data_dir / DB_NAME)
    return True


def _launch(data_dir: Path, venv: Path, creds: Credentials | None, port: int, timeout: float
            ) -> tuple[ServerState, Path]:
    document_root = (data_dir / MEDIA_DIR).resolve()
    (document_root / IMAGES_SUBDIR).mkdir(parents=True, exist_ok=True)
    exe = Path(venv) / "bin" / "label-studio"
    if not exe.exists():
        raise MMRAError(f"Label Studio is not installed at {exe}; run `make setup-ls` (label-studio==1.23.2 in {venv})")
    # umask 077: everything the server writes (database journal, .env, exports, uploads) is 0600;
    # `exec` keeps the PID, so the state file still names the server's own process group
    command = ["/bin/sh", "-c", 'umask 077 && exec "$0" "$@"', str(exe.parent / "python"), "-c", _BOOT, "start",
               "--no-browser", "--internal-host", LOOPBACK, "-p", str(port), "--data-dir", str(data_dir)]
    harden(data_dir)
    _private_file(data_dir / "server.log")
    state = start_server(
        "label-studio", command, port=port, health_url=f"http://{LOOPBACK}:{port}/health",
        state_file=data_dir / STATE_FILE, log_file=data_dir / "server.log",
        env=server_env(data_dir, document_root, creds), timeout=timeout, cwd=data_dir,
    )
    if not any("umask 077" in part for part in state.command):  # reused, started before issue 12: signup open
        raise MMRAError(f"the Label Studio running for {data_dir} (pid {state.pid}) was started by an older mmra, "
                        "with open signup and any Host header accepted: stop it with `mmra annotate serve --stop` "
                        "and start it again")
    if not any(GUARD_MODULE in part for part in state.command):  # reused, started before issue 18
        raise MMRAError(f"the Label Studio running for {data_dir} (pid {state.pid}) was started by an older mmra, "
                        "without the gate that fixes who wrote an annotation and keeps the invite token from "
                        "annotators: stop it with `mmra annotate serve --stop` and start it again")
    harden(data_dir)  # the state file and what the server created on its first start
    return state, document_root


def start(cfg: LabelStudioConfig, *, creds: Credentials | None = None, port: int | None = None,
          timeout: float = 240.0, template_dir: Path | None = None) -> tuple[ServerState, Connection]:
    """Start (or reuse) the local server for `cfg.data_dir`. Returns its state and a ready connection.

    A new data dir starts from the migrated template in `template_dir` (built on first use: 30-60 s once,
    then a few seconds per new data dir); `template_dir=None` lets the server migrate its own database."""
    if cfg.url:
        raise MMRAError(f"label_studio.url is set ({cfg.url}): that server is remote, `serve` starts only a local one")
    cfg = _absolute(cfg)
    data_dir = Path(cfg.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(data_dir, 0o700)
    creds = creds or credentials(cfg, create=True)
    if template_dir is not None:
        seed_from_template(data_dir, Path(template_dir), Path(cfg.venv))
    state, document_root = _launch(data_dir, Path(cfg.venv), creds, port or cfg.port, timeout)
    return state, Connection(url=state.url, token=creds.token, data_dir=data_dir, document_root=document_root,
                             accounts_file=data_dir / ACCOUNTS_FILE)


def stop(cfg: LabelStudioConfig) -> bool:
    return stop_server(_absolute(cfg).data_dir / STATE_FILE)


def connection(config: Config) -> Connection:
    """How to reach the configured server: a remote URL + token, or the local one `serve` started."""
    cfg = config.label_studio
    if cfg.url:
        token = secret("label_studio_token")
        if not token:
            raise MMRAError("label_studio.url is set but LABEL_STUDIO_API_KEY is not: export the server's API token")
        root = Path(cfg.document_root).resolve() if cfg.document_root else None
        # the registry of accounts the toolkit created stays on the operator's side, in the local data dir
        return Connection(url=cfg.url.rstrip("/"), token=token, data_dir=None, document_root=root,
                          accounts_file=Path(cfg.data_dir).resolve() / ACCOUNTS_FILE)
    cfg = _absolute(cfg)
    state = ServerState.load(Path(cfg.data_dir) / STATE_FILE)
    if state is None or not state.alive():
        raise MMRAError(f"no Label Studio server is running for {cfg.data_dir}; start one with `mmra annotate serve`")
    creds = credentials(cfg)
    if creds is None:
        raise MMRAError("no Label Studio API token: set LABEL_STUDIO_API_KEY (and LABEL_STUDIO_PASSWORD)")
    return Connection(url=state.url, token=creds.token, data_dir=Path(cfg.data_dir),
                      document_root=(Path(cfg.data_dir) / MEDIA_DIR).resolve(),
                      accounts_file=Path(cfg.data_dir) / ACCOUNTS_FILE)


def build_template(template_dir: Path, venv: Path, *, timeout: float = 300.0) -> Path:
    """Migrate a fresh database once, with no account in it, and keep it; later data dirs copy it."""
    template_dir = Path(template_dir).resolve()
    db = template_dir / DB_NAME
    if db.exists():
        return db
    from mmra.procs import free_port

    work = template_dir.with_name(template_dir.name + f".building-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        _launch(work, Path(venv).resolve(), None, free_port(), timeout)
    finally:
        stop_server(work / STATE_FILE)
    with sqlite3.connect(work / DB_NAME) as con:
        if con.execute("SELECT count(*) FROM htx_user").fetchone()[0]:
            raise MMRAError(f"template database {work / DB_NAME} unexpectedly holds an account")
    template_dir.mkdir(parents=True, exist_ok=True)
    tmp = template_dir / (DB_NAME + ".tmp")
    shutil.copy2(work / DB_NAME, tmp)
    tmp.replace(db)
    shutil.rmtree(work, ignore_errors=True)
    return db
