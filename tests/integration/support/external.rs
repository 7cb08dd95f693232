//! Real neighbours for tests: Prometheus, promtool, nginx and openssl as
//! separate processes with configs in a temp dir, free ports on 127.0.0.1,
//! and guards that kill and reap them. Never the system services.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::http::try_get as get;
use super::{Proc, RefusedPort, Spawn, poll_until, proc};

/// How to get the tools, printed when a test skips.
pub const INSTALL_HINT: &str = "apt-get install prometheus nginx";

/// How long a neighbour may take to become ready on a loaded machine.
pub const NEIGHBOUR_READY: Duration = Duration::from_secs(30);

/// Finds `name` on PATH (and in the sbin directories, where Debian puts
/// nginx). With `CI` set a missing tool fails the test; otherwise `None`,
/// after one line saying how to install it.
pub fn require(name: &str) -> Option<PathBuf> {
    let found = find_tool(name);
    if found.is_none() {
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
        assert!(
            !ci,
            "{name} is not installed and CI is set; install it with: {INSTALL_HINT}"
        );
        eprintln!("skipped: {name} is not installed (install with: {INSTALL_HINT})");
    }
    found
}

/// `name` on PATH or in the sbin directories, if installed.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates a fresh directory named after `tag`.
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "comfyctl-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A path inside it.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes a file inside it and returns its path.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.join(name);
        std::fs::write(&path, contents).expect("write temp file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs a short command to completion (bounded: these are local tools on
/// local files) and panics with its output if it fails.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = proc::run(cmd).unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A test CA and a server certificate for 127.0.0.1 signed by it, made
/// with the `openssl` CLI.
pub struct Certs {
    /// The CA certificate (PEM), for `--cacert`.
    pub ca: PathBuf,
    /// The server certificate (PEM).
    pub cert: PathBuf,
    /// The server key (PEM).
    pub key: PathBuf,
}

/// Makes [`Certs`] in `dir` (P-256 keys: fast to generate).
pub fn make_certs(openssl: &Path, dir: &TempDir) -> Certs {
    let p = |n: &str| dir.join(n);
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
    run_ok(
        Command::new(openssl)
            .args(["req", "-x509", "-nodes", "-days", "2"])
            .args(ec)
            .args(["-subj", "/CN=comfyctl test CA"])
            .args(["-addext", "basicConstraints=critical,CA:TRUE"])
            .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
            .arg("-keyout")
            .arg(p("ca.key"))
            .arg("-out")
            .arg(p("ca.pem")),
    );
    run_ok(
        Command::new(openssl)
            .args(["req", "-nodes"])
            .args(ec)
            .args(["-subj", "/CN=127.0.0.1"])
            .arg("-keyout")
            .arg(p("server.key"))
            .arg("-out")
            .arg(p("server.csr")),
    );
    let ext = dir.write(
        "server.ext",
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    );
    run_ok(
        Command::new(openssl)
            .args(["x509", "-req", "-days", "2", "-CAcreateserial"])
            .arg("-in")
            .arg(p("server.csr"))
            .arg("-CA")
            .arg(p("ca.pem"))
            .arg("-CAkey")
            .arg(p("ca.key"))
            .arg("-extfile")
            .arg(ext)
            .arg("-out")
            .arg(p("server.pem")),
    );
    Certs {
        ca: p("ca.pem"),
        cert: p("server.pem"),
        key: p("server.key"),
    }
}

/// An htpasswd line for `user:password` (apr1, which nginx accepts).
pub fn htpasswd_line(openssl: &Path, user: &str, password: &str) -> String {
    let out = run_ok(Command::new(openssl).args(["passwd", "-apr1", password]));
    format!("{user}:{}", String::from_utf8_lossy(&out.stdout).trim())
}

/// A running nginx (`daemon off`, master in the foreground) in its own
/// process group; dropping it kills the group (master and workers) and
/// reaps the master.
pub struct Nginx {
    proc: Option<Proc>,
    /// The TLS port it listens on.
    pub port: u16,
    dir: PathBuf,
}

impl Nginx {
    /// Starts nginx with `http_block` (the inside of `http { }`, with
    /// `LISTEN` standing for the listen address) under `dir`; waits until
    /// the port accepts connections. The port is held by a
    /// [`RefusedPort`] until nginx listens on it too (both set
    /// SO_REUSEADDR), so no other program takes it meanwhile; retries on
    /// another port if nginx fails anyway.
    pub fn start(bin: &Path, dir: &TempDir, http_block: &str) -> Nginx {
        let mut last = String::new();
        for _ in 0..3 {
            let hold = RefusedPort::new();
            let port = hold.port();
            let d = dir.path().display();
            let user = if unsafe { libc::geteuid() } == 0 {
                "user root;\n"
            } else {
                ""
            };
            let conf = format!(
                "{user}worker_processes 1;\nerror_log {d}/error.log info;\n\
                 events {{ worker_connections 256; }}\n\
                 http {{\n  access_log {d}/access.log;\n\
                 client_body_temp_path {d}/client_body;\n  proxy_temp_path {d}/proxy;\n\
                 fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n\
                 scgi_temp_path {d}/scgi;\n{}\n}}\n",
                http_block.replace("LISTEN", &format!("127.0.0.1:{port}"))
            );
            let conf_path = dir.write("nginx.conf", &conf);
            let mut cmd = Command::new(bin);
            cmd.arg("-p")
                .arg(dir.path())
                .arg("-c")
                .arg(&conf_path)
                .arg("-e")
                .arg(dir.join("error.log"))
                .arg("-g")
                .arg(format!("daemon off; pid {d}/nginx.pid;"));
            // Its own group: the workers die with the master on drop.
            let mut proc = Spawn::new(cmd).group().start();
            let up = poll_until(NEIGHBOUR_READY, || {
                !proc.is_running() || TcpStream::connect(("127.0.0.1", port)).is_ok()
            });
            drop(hold);
            if up && proc.is_running() {
                return Nginx {
                    proc: Some(proc),
                    port,
                    dir: dir.path().to_path_buf(),
                };
            }
            last = format!(
                "{}{}",
                proc.stderr(),
                std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
            );
        }
        panic!("nginx did not start:\n{last}");
    }

    /// Lines of the access log so far.
    pub fn access_log(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("access.log"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    /// The error log so far (for failure messages).
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }

    /// Kills nginx (master and workers: SIGTERM is a fast shutdown) and
    /// reaps the master.
    pub fn kill(&mut self) {
        if let Some(mut proc) = self.proc.take() {
            proc.signal(libc::SIGTERM);
            if proc.wait_exit(Duration::from_secs(10)).is_none() {
                drop(proc);
            }
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if let Some(proc) = &self.proc {
            // A fast shutdown lets the master take its workers with it;
            // `Proc`'s drop then SIGKILLs whatever is left of the master.
            proc.signal(libc::SIGTERM);
            let _ = self
                .proc
                .as_mut()
                .map(|p| p.wait_exit(Duration::from_secs(5)));
        }
    }
}

/// A running Prometheus with its own config, storage and port.
pub struct Prometheus {
    _proc: Proc,
    /// Its web port (API under `/api/v1/`).
    pub port: u16,
}

impl Prometheus {
    /// A config that scrapes the metrics endpoint `target` (host:port) and
    /// evaluates `rules` every second, so a test sees alerts within seconds.
    pub fn scrape_config(rules: &Path, target: &str) -> String {
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1s\n\
             rule_files: [\"{}\"]\n\
             scrape_configs:\n  - job_name: comfyctl\n    static_configs:\n      - targets: [\"{target}\"]\n",
            rules.display()
        )
    }

    /// Starts `prometheus` with `config` (YAML) and waits for `/-/ready`;
    /// its port is held as in [`Nginx::start`].
    pub fn start(bin: &Path, dir: &TempDir, config: &str) -> Prometheus {
        let config_path = dir.write("prometheus.yml", config);
        let mut last = String::new();
        for _ in 0..3 {
            let hold = RefusedPort::new();
            let port = hold.port();
            let mut cmd = Command::new(bin);
            cmd.arg(format!("--config.file={}", config_path.display()))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.join("data").display()
                ))
                .arg("--log.level=warn");
            let mut proc = Proc::spawn(cmd);
            let ready = poll_until(NEIGHBOUR_READY, || {
                !proc.is_running() || get(port, "/-/ready").is_some_and(|(s, _)| s == 200)
            });
            drop(hold);
            if ready && proc.is_running() {
                return Prometheus { _proc: proc, port };
            }
            last = proc.stderr();
        }
        panic!("prometheus did not become ready:\n{last}");
    }

    /// `GET /api/v1/query?query=EXPR` → the `data.result` array (empty on
    /// any error, so callers can poll).
    pub fn query(&self, expr: &str) -> Vec<serde_json::Value> {
        let q = percent_encoding::utf8_percent_encode(expr, percent_encoding::NON_ALPHANUMERIC);
        get(self.port, &format!("/api/v1/query?query={q}"))
            .and_then(|(_, body)| serde_json::from_str::<serde_json::Value>(&body).ok())
            .and_then(|v| v["data"]["result"].as_array().cloned())
            .unwrap_or_default()
    }

    /// `GET /api/v1/alerts` → the `data.alerts` array.
    pub fn alerts(&self) -> Vec<serde_json::Value> {
        get(self.port, "/api/v1/alerts")
            .and_then(|(_, body)| serde_json::from_str::<serde_json::Value>(&body).ok())
            .and_then(|v| v["data"]["alerts"].as_array().cloned())
            .unwrap_or_default()
    }
}
