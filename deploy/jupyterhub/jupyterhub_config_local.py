"""The class hub of jupyterhub_config.py, made runnable on one machine for trying and testing it: NOT for a class.

    python3 tasks.py hub            # http://127.0.0.1:8000, log in as any name (teacher is the admin)

Only this file differs from a real deployment, and a real one replaces each piece (deploy/jupyterhub/README.md):
- DummyAuthenticator: any user name logs in (with BN_TEACH_HUB_PASSWORD set, only with that password);
  a class uses the school's login (OAuthenticator, LDAPAuthenticator, ...).
- SimpleLocalProcessSpawner: every student's server is a local process of the hub's own user with a home under
  /tmp/<name>; nothing isolates the students or enforces mem_limit/cpu_limit. A class uses systemdspawner
  (one Unix user per student, limits enforced by systemd) or KubeSpawner (deploy/z2jh/).
- --allow-root: only because these development machines run everything as root.

Settings from the environment (tests/hub sets them):
    BN_TEACH_HUB_STATE      folder for the hub's database, cookie secret and logs (default: .hub-state/)
    BN_TEACH_HUB_API_TOKEN  if set, a service "bn-teach-admin" with this token may create users and start servers
    BN_TEACH_HUB_HOMES      parent folder of the students' homes (default /tmp)
    BN_TEACH_HUB_PORTS      "HUB_API,PROXY_API": the hub's and the proxy's internal ports (default 8081,8001)
"""
import os
from pathlib import Path

c = get_config()  # noqa: F821
load_subconfig(str(Path(__file__).with_name("jupyterhub_config.py")))  # noqa: F821 (the class hub, unchanged)

ROOT = Path(__file__).resolve().parents[2]
STATE = Path(os.environ.get("BN_TEACH_HUB_STATE", ROOT / ".hub-state"))
STATE.mkdir(parents=True, exist_ok=True)

c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
if os.environ.get("BN_TEACH_HUB_PASSWORD"):
    c.DummyAuthenticator.password = os.environ["BN_TEACH_HUB_PASSWORD"]

c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = os.path.join(os.environ.get("BN_TEACH_HUB_HOMES", "/tmp"),
                                                             "{username}")
if hasattr(os, "geteuid") and os.geteuid() == 0:
    c.Spawner.args = ["--allow-root"]

proxy = ROOT / "node_modules" / ".bin" / "configurable-http-proxy"   # npm ci (tasks.py hub runs it)
if proxy.exists():
    c.ConfigurableHTTPProxy.command = [str(proxy)]

if os.environ.get("BN_TEACH_HUB_PORTS"):
    hub_port, proxy_port = (int(p) for p in os.environ["BN_TEACH_HUB_PORTS"].split(","))
    c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{hub_port}"
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{proxy_port}"

c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "proxy.pid")

if os.environ.get("BN_TEACH_HUB_API_TOKEN"):
    c.JupyterHub.services.append({"name": "bn-teach-admin", "api_token": os.environ["BN_TEACH_HUB_API_TOKEN"]})
    c.JupyterHub.load_roles.append({
        "name": "bn-teach-admin",
        "scopes": ["admin:users", "admin:servers", "access:servers", "tokens", "read:users"],
        "services": ["bn-teach-admin"],
    })
