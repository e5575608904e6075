//! Child processes that cannot outlive the test process: a shell wrapper
//! starts the program and kills it as soon as our end of its stdin closes,
//! which the OS does when the test process exits, however it exits.
//! SIGTERM first; one that has not exited after `STOP_GRACE_SECONDS` (a
//! LocalStack once hung in its own shutdown for good) gets SIGKILL.

use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

const STOP_GRACE_SECONDS: u32 = 10;

pub struct Lifeline {
    child: Child,
    stdin: Option<ChildStdin>,
    pub log: PathBuf,
}

impl Lifeline {
    /// Runs `program args…` with `env`, output to `log`.
    pub fn spawn(program: &Path, args: &[&str], env: &[(String, String)], log: PathBuf) -> Self {
        let quoted: Vec<String> = std::iter::once(program.display().to_string())
            .chain(args.iter().map(|a| (*a).to_owned()))
            .map(|word| format!("'{}'", word.replace('\'', r"'\''")))
            .collect();
        let script = format!(
            "{} >'{}' 2>&1 & pid=$!; cat >/dev/null; kill $pid 2>/dev/null; \
             (sleep {STOP_GRACE_SECONDS}; kill -9 $pid 2>/dev/null) & wait $pid",
            quoted.join(" "),
            log.display()
        );
        let mut command = Command::new("sh");
        command.args(["-c", &script]).stdin(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let stdin = child.stdin.take();
        Self { child, stdin, log }
    }

    /// Whether the wrapper (and so the program) has exited.
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Lifeline {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something accepts TCP connections on `port`.
pub fn wait_for_port(port: u16, process: &mut Lifeline, seconds: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            !process.exited(),
            "the process exited:\n{}",
            process.log_text()
        );
        assert!(
            std::time::Instant::now() < deadline,
            "nothing listened on {port}:\n{}",
            process.log_text()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
