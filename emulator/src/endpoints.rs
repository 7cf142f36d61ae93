//! What the emulator emulates, as `xnat-emulator --help` lists it (one line per endpoint
//! group, spec section in brackets). Kept next to nothing else so the list has one home.

/// The `--help` text after the options.
pub const LONG_HELP: &str = "\
Emulated XNAT endpoints (Container Service 3.7.3, spec xnat-container-service.md):
  GET /                                                        start page (login redirect when anonymous)
  PUT|POST /data/services/auth                                 form login: username=..&password=.. → session id
  GET|POST|DELETE /data/JSESSION                               session id / end the session
  GET /data/auth                                               who am I
  GET    /xapi/commands[?name=&version=&image=&restrictToEnabledForSite=]   list, visibility-filtered [C1, C2]
  GET    /xapi/commands/{id}                                   one command (hidden: 200 empty) [C3]
  POST   /xapi/commands[?image=]                               create → 201 id [C4]
  POST   /xapi/commands/{id}                                   update, wrapper ids kept by name [C5]
  DELETE /xapi/commands/{id}                                   → 204 [C6]
  POST   /xapi/commands/{id}/wrappers                          add a wrapper → 201 id [W1]
  POST   /xapi/commands/{cid}/wrappers/{wid}                   update a wrapper [W2]
  DELETE /xapi/wrappers/{wid}                                  → 204 [W3]
  POST   /xapi/command/{id}/visibility/{public|private|protected}   [V1]
  GET    /xapi/commands/available?project=P&xsiType=T          summaries for a project [A1]
  GET    /xapi/projects/{P}/commands/available?xsiType=T       the same [A1]
  GET    /xapi/commands/available/site?xsiType=T[&projects=]   site-wide summaries [A2]
  GET|PUT /xapi/wrappers/{wid}/enabled, PUT …/disabled         site enablement [S1–S3]
  GET|PUT /xapi/commands/{cid}/wrappers/{name}/enabled, PUT …/disabled   [S4–S6]
  GET    /xapi/wrappers/{wid}/projects                         projects enabled for [S7]
  POST|GET|DELETE /xapi/wrappers/{wid}/config (and /xapi/commands/{cid}/wrappers/{name}/config)
                                                               site configuration [S8–S10]
  GET|PUT /xapi/projects/{p}/wrappers/{wid}/enabled, PUT …/disabled (and by command + name) [P1–P6]
  POST|GET|DELETE /xapi/projects/{p}/wrappers/{wid}/config (and by command + name)  [P7]
  POST   /xapi/docker/images/save?image=X                      label import: 424 on --backend
                                                               kubernetes, --image table on docker
  GET    /xapi/docker/images/save                              424 / 400
  GET    /xapi/siteConfig/buildInfo[/{property}], /xapi/plugins, /xapi/users/{u}/roles
  GET    /data/projects
  GET    /data/services/tokens/issue[/user/{u}], /data/services/tokens/invalidate/{alias}/{secret}
  GET    /app/template/Login.vm (login redirects for browser User-Agents)
Test hooks (with --test-hooks):
  GET /__emulator/state                                        the whole state, in the --state document's shape
  GET /__emulator/log, /counters, GET|PUT /faults, POST /reset";
