"""Options of the [api] group: the REST API server."""

from oslo_config import cfg

api_group = cfg.OptGroup("api", title="REST API options")

api_opts = [
    cfg.HostAddressOpt(
        "host",
        default="127.0.0.1",
        help="Address the API listens on.  Use 0.0.0.0 to listen on every "
        "interface.",
    ),
    cfg.PortOpt("port", default=1234, help="Port the API listens on."),
    cfg.IntOpt(
        "threads",
        default=8,
        min=1,
        help="Number of request threads of the WSGI server (waitress).",
    ),
    cfg.IntOpt(
        "read_threads",
        default=2,
        min=0,
        help="Request threads kept for requests that only read (GET): "
        "writes, which wait for the lease manager, may hold at most "
        "threads - read_threads threads at once, so reads are answered "
        "even while the manager or the message broker is away.  Related: "
        "threads, write_slot_wait.",
    ),
    cfg.FloatOpt(
        "write_slot_wait",
        default=0.2,
        min=0,
        help="Seconds a write waits for one of the threads writes may use "
        "(see read_threads) before it is answered 503 with Retry-After.",
    ),
    cfg.FloatOpt(
        "write_timeout",
        default=5.0,
        min=0.1,
        help="Seconds a write waits for the lease manager's answer over "
        "the message broker before it is answered 503, saying that the "
        "change may have been made and to retry with the same "
        "Idempotency-Key header.  A lease update or delete that must act "
        "on the cloud at once waits [manager] act_now_wait longer.  When "
        "the broker cannot be reached at all, a write is answered 503 at "
        "once.",
    ),
    cfg.StrOpt(
        "auth_strategy",
        default="noauth",
        choices=[
            (
                "noauth",
                "Trust the X-User-Id, X-Project-Id and X-Roles "
                "headers, falling back to the noauth_* defaults.  For the "
                "embedded service and tests, never for a shared deployment.",
            ),
            (
                "keystone",
                "Validate the X-Auth-Token of every request with "
                "keystonemiddleware's auth_token, configured in the "
                "[keystone_authtoken] group; the identity comes from the "
                "token.",
            ),
        ],
        help="How API requests are authenticated.  GET / and GET /v1 "
        "(the versions) answer without authentication.",
    ),
    cfg.StrOpt(
        "noauth_user_id",
        default="climate-user",
        help="User id given to requests without X-User-Id when "
        "auth_strategy is noauth.",
    ),
    cfg.StrOpt(
        "noauth_project_id",
        default="climate-project",
        help="Project id given to requests without X-Project-Id when "
        "auth_strategy is noauth.",
    ),
    cfg.ListOpt(
        "noauth_roles",
        default=["member", "reader"],
        help="Roles given to requests without X-Roles when auth_strategy is "
        "noauth.  As with Keystone's default implied roles, admin also "
        "grants member and reader, and member grants reader.  Only admin "
        "may manage hosts (see the policy defaults).",
    ),
    cfg.IntOpt(
        "max_request_body_size",
        default=114688,
        min=1,
        help="Largest request body, in bytes, the API accepts.  Larger "
        "bodies are refused with 413.",
    ),
    cfg.StrOpt(
        "metrics_access",
        default="open",
        choices=[
            (
                "open",
                "GET /metrics answers anyone, without authentication, as "
                "GET /healthcheck does: Prometheus scrapes it without a "
                "token.  It reports counts and latencies only (no names, "
                "ids or projects); limit who reaches it with the listening "
                "address or a firewall.",
            ),
            (
                "policy",
                "GET /metrics is authenticated like the rest of the API "
                "and allowed by the climate:metrics:get policy (default: "
                "admins).",
            ),
            ("off", "No /metrics (404)."),
        ],
        help="Who may read the Prometheus metrics at GET /metrics.",
    ),
    cfg.IntOpt(
        "max_limit",
        default=1000,
        min=1,
        help="Largest page size a list request may ask for with ?limit=; "
        "also the page size when no limit is given.",
    ),
]


def register_opts(conf):
    conf.register_group(api_group)
    conf.register_opts(api_opts, group=api_group)


def list_opts():
    return {api_group: api_opts}
