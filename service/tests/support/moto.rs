//! One moto_server per test binary on a free loopback port, started on first
//! use. A shell wrapper holds moto and kills it when our end of its stdin pipe
//! closes, so moto dies with the test process however that ends.

use flipframe::aws::AwsSettings;
use std::io::Read;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

pub struct Moto {
    pub endpoint: String,
    _lifeline: Mutex<ChildStdin>,
}

static MOTO: OnceLock<Moto> = OnceLock::new();

pub fn moto() -> &'static Moto {
    MOTO.get_or_init(start)
}

impl Moto {
    pub fn settings(&self) -> AwsSettings {
        AwsSettings {
            endpoint_url: Some(self.endpoint.clone()),
        }
    }

    pub async fn sdk(&self) -> aws_config::SdkConfig {
        flipframe::aws::sdk_config(&self.settings()).await
    }
}

fn start() -> Moto {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = std::env::temp_dir().join(format!("flipframe-moto-{port}.log"));
    let script = format!(
        "moto_server -H 127.0.0.1 -p {port} >'{}' 2>&1 & pid=$!; cat >/dev/null; kill $pid",
        log.display()
    );
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .spawn()
        .expect("sh starts moto_server (is moto[server] installed?)");
    let lifeline = child.stdin.take().expect("piped stdin");
    let endpoint = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::Write;
            let _ = stream.write_all(b"GET /moto-api/ HTTP/1.0\r\n\r\n");
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            if answer.starts_with("HTTP/1.") {
                break;
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("moto_server exited ({status}); see {}", log.display());
        }
        assert!(
            Instant::now() < deadline,
            "moto_server did not answer; see {}",
            log.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Moto {
        endpoint,
        _lifeline: Mutex::new(lifeline),
    }
}

/// A bucket or table name no other test uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}
