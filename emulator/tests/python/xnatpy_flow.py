"""Drive xnatpy (PyPI `xnat`) against an XNAT the way a test suite would: connect, list the
commands, create one through the session's raw POST, enable its wrapper for the site, disconnect.

Usage: xnatpy_flow.py URL USER PASSWORD COMMAND_JSON
Prints one JSON object: what the client saw, or {"login_error": ..., "message": ...} when
xnat.connect() refuses the credentials with its own login error.
"""
import json
import sys

import xnat
from xnat.exceptions import XNATLoginFailedError


def main():
    url, user, password, command = sys.argv[1:5]
    try:
        # The data model (XNAT's XSD schemas) is not emulated, hence no_parse_model.
        session = xnat.connect(url, user=user, password=password, no_parse_model=True)
    except XNATLoginFailedError as e:
        print(json.dumps({"login_error": type(e).__name__, "message": str(e)}))
        return
    seen = {
        "client": "xnat " + xnat.__version__,
        "logged_in_user": session.logged_in_user,
        "xnat_version": session.xnat_version,
        "jsession": session.jsession,
        "commands_before": [c["name"] for c in session.get_json("/xapi/commands")],
    }
    created = session.post("/xapi/commands", json=json.loads(command))
    seen["create_status"] = created.status_code
    command_id = int(created.text)
    stored = session.get_json("/xapi/commands/{}".format(command_id))
    wrapper_id = stored["xnat"][0]["id"]
    session.put("/xapi/wrappers/{}/enabled".format(wrapper_id))
    seen["site_enabled"] = session.get_json("/xapi/wrappers/{}/enabled".format(wrapper_id))
    seen["commands_after"] = [c["name"] for c in session.get_json("/xapi/commands")]
    session.disconnect()
    print(json.dumps(seen))


main()
