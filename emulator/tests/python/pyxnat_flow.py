"""Drive pyxnat's Interface against an XNAT the way a test suite would: connect, list the
commands, create one through the interface's raw POST, enable its wrapper for the site,
disconnect.

Usage: pyxnat_flow.py URL USER PASSWORD COMMAND_JSON
Prints one JSON object: what the client saw, or {"login_error": ..., "message": ...} when pyxnat
raises its own error for refused credentials.
"""
import json
import sys

import pyxnat
from pyxnat.core.errors import DatabaseError, OperationalError


def main():
    url, user, password, command = sys.argv[1:5]
    interface = pyxnat.Interface(server=url, user=user, password=password)
    try:
        # _exec opens the session (GET /data/JSESSION) before its first request.
        listed = json.loads(interface._exec("/xapi/commands"))
    except (DatabaseError, OperationalError) as e:
        print(json.dumps({"login_error": type(e).__name__, "message": str(e)}))
        return
    seen = {
        "client": "pyxnat " + pyxnat.__version__,
        "jsession": interface._jsession,
        "version": interface.version()["version"],
        "commands_before": [c["name"] for c in listed],
    }
    created = interface.post("/xapi/commands", json=json.loads(command))
    seen["create_status"] = created.status_code
    stored = interface.get("/xapi/commands/{}".format(int(created.text))).json()
    wrapper_id = stored["xnat"][0]["id"]
    enable = interface.put("/xapi/wrappers/{}/enabled".format(wrapper_id))
    enable.raise_for_status()
    seen["site_enabled"] = interface.get("/xapi/wrappers/{}/enabled".format(wrapper_id)).json()
    seen["commands_after"] = [c["name"] for c in json.loads(interface._exec("/xapi/commands"))]
    interface.disconnect()
    print(json.dumps(seen))


main()
