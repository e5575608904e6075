//! One moto_server per test process on a free loopback port, started on first
//! use and stopped when the process ends.

use super::process::{Lifeline, free_port, wait_for_port};
use flipframe::aws::AwsSettings;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

pub struct Moto {
    pub endpoint: String,
    _process: Mutex<Lifeline>,
}

static MOTO: OnceLock<Moto> = OnceLock::new();

pub fn moto() -> &'static Moto {
    MOTO.get_or_init(Moto::start)
}

impl Moto {
    pub fn start() -> Self {
        let port = free_port();
        let log = std::env::temp_dir().join(format!("flipframe-moto-{port}.log"));
        let port_text = port.to_string();
        let mut process = Lifeline::spawn(
            Path::new("moto_server"),
            &["-H", "127.0.0.1", "-p", &port_text],
            &[],
            log,
        );
        wait_for_port(port, &mut process, 60);
        Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            _process: Mutex::new(process),
        }
    }

    pub fn settings(&self) -> AwsSettings {
        AwsSettings::emulator(&self.endpoint)
    }

    pub async fn sdk(&self) -> flipframe::aws::Aws {
        flipframe::aws::sdk_config(&self.settings()).await
    }
}

/// A bucket or table name no other test uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}
