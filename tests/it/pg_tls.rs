//! Outbound TLS to PostgreSQL: `sslmode=verify-full` checks the server's certificate chain
//! against `sslrootcert` and its host name. A private PostgreSQL cluster with TLS only
//! (`hostssl` in pg_hba, no plain `host` line) is started for the test from the machine's
//! PostgreSQL binaries; the shared server is not touched. Runs in the PostgreSQL pass only.

use std::path::{Path, PathBuf};
use std::process::Command;

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

use crate::helpers::ops::{Cli, skip_unless_postgres};
use crate::helpers::process::free_port;

/// A throwaway PostgreSQL cluster listening on 127.0.0.1 with TLS only; stopped on drop.
struct TlsCluster {
    data: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

/// The directory holding `initdb` and `pg_ctl`, if this machine has them.
fn pg_bin() -> Option<PathBuf> {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<PathBuf> = std::fs::read_dir(root)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop()
}

/// Runs a PostgreSQL tool as the `postgres` user (PostgreSQL refuses to run as root).
fn as_postgres(bin: &Path, tool: &str, args: &[&str]) {
    let tool = bin.join(tool);
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&tool);
        c
    } else {
        Command::new(&tool)
    };
    let out = cmd.args(args).output().expect("run a PostgreSQL tool");
    assert!(
        out.status.success(),
        "{} {args:?} failed: {}{}",
        tool.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A CA and a server certificate for `localhost` signed by it.
struct Pki {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("CA");
    let key = KeyPair::generate().expect("server key");
    let cert = CertificateParams::new(vec!["localhost".to_string()])
        .expect("params")
        .signed_by(&key, &ca, &ca_key)
        .expect("server certificate");
    Pki {
        ca_pem: ca.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

impl TlsCluster {
    fn start(bin: &Path, pki: &Pki) -> TlsCluster {
        let dir = tempfile::tempdir().expect("dir");
        let data = dir.path().join("data");
        let port = free_port();
        if is_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .expect("chown")
                .success();
            assert!(ok, "chown the cluster folder to postgres");
        }
        let data_s = data.to_str().expect("utf-8 path");
        as_postgres(
            bin,
            "initdb",
            &["-D", data_s, "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        );
        let write = |name: &str, text: &str, mode: u32| {
            let path = data.join(name);
            std::fs::write(&path, text).expect("write cluster file");
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
            if is_root() {
                Command::new("chown")
                    .args(["postgres:postgres"])
                    .arg(&path)
                    .status()
                    .expect("chown");
            }
        };
        write("server.crt", &pki.cert_pem, 0o644);
        write("server.key", &pki.key_pem, 0o600);
        // TLS only: no plain `host` line, so a connection without TLS is refused.
        write(
            "pg_hba.conf",
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
            0o600,
        );
        let conf = format!(
            "\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{data_s}'\n\
             ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n\
             fsync = off\nshared_buffers = 16MB\nmax_connections = 20\n"
        );
        let mut current = std::fs::read_to_string(data.join("postgresql.conf")).expect("conf");
        current.push_str(&conf);
        write("postgresql.conf", &current, 0o600);
        let log = data.join("server.log");
        as_postgres(
            bin,
            "pg_ctl",
            &[
                "-D",
                data_s,
                "-l",
                log.to_str().expect("utf-8"),
                "-w",
                "-t",
                "30",
                "start",
            ],
        );
        TlsCluster {
            data,
            port,
            _dir: dir,
        }
    }
}

impl Drop for TlsCluster {
    fn drop(&mut self) {
        if let Some(bin) = pg_bin() {
            let mut cmd = if is_root() {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(bin.join("pg_ctl"));
                c
            } else {
                Command::new(bin.join("pg_ctl"))
            };
            let _ = cmd
                .arg("-D")
                .arg(&self.data)
                .args(["-m", "immediate", "stop"])
                .output();
        }
    }
}

#[tokio::test]
async fn verify_full_checks_the_chain_and_the_host_name() {
    if skip_unless_postgres("PostgreSQL TLS runs in the PostgreSQL pass only") {
        return;
    }
    let Some(bin) = pg_bin() else {
        panic!("NYCKEL_TEST_POSTGRES_URL is set but /usr/lib/postgresql/*/bin/initdb is missing");
    };
    let pki = pki();
    let ca_pem = pki.ca_pem.clone();
    let other = self::pki();
    let cluster = tokio::task::spawn_blocking({
        let bin = bin.clone();
        move || TlsCluster::start(&bin, &pki)
    })
    .await
    .expect("cluster starts");
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    let good_ca = d.join("ca.pem");
    let wrong_ca = d.join("other-ca.pem");
    std::fs::write(&good_ca, &ca_pem).expect("ca");
    std::fs::write(&wrong_ca, &other.ca_pem).expect("other ca");
    let url = |host: &str, mode: &str, ca: &Path| {
        format!(
            "postgres://postgres@{host}:{}/postgres?sslmode={mode}&sslrootcert={}",
            cluster.port,
            ca.display()
        )
    };

    let migrate = |url: String| Cli::new(d, &url).run(&["migrate"]);

    // The right CA and the certificate's host name: migrations run over TLS.
    let (ok, out, err) = migrate(url("localhost", "verify-full", &good_ca));
    assert!(ok, "verify-full with the right CA works: {out}{err}");

    // A certificate from a CA we were not told about: refused, with an error that says so.
    let (ok, _, err) = migrate(url("localhost", "verify-full", &wrong_ca));
    assert!(!ok, "an unknown CA must be refused");
    assert!(
        err.to_lowercase().contains("certificate") || err.to_lowercase().contains("tls"),
        "the error names the certificate problem: {err}"
    );

    // The right CA but another host name (the certificate is for localhost only).
    let (ok, _, err) = migrate(url("127.0.0.1", "verify-full", &good_ca));
    assert!(!ok, "verify-full must check the host name: {err}");
    assert!(
        err.contains("not valid for name"),
        "the error names the host name problem: {err}"
    );

    // Without TLS the cluster refuses (pg_hba has hostssl only): the test really used TLS.
    let port = cluster.port;
    let (ok, _, _) = migrate(format!(
        "postgres://postgres@localhost:{port}/postgres?sslmode=disable"
    ));
    assert!(!ok, "a plain connection must be refused by this cluster");
}
