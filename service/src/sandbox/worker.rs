//! The worker process's side (`flipframe sandbox-worker`): reads requests
//! from stdin, answers on stdout, one at a time, until stdin closes. It
//! limits its own address space and dies with its parent.

use super::protocol::{self, Reply, TransformRequest};
use std::io::{self, BufReader, BufWriter};
use std::time::Duration;

/// How long a worker waits for its next request before it hands its memory
/// back. Back-to-back transforms (a folder upload) then reuse the pages the
/// last one faulted in, instead of faulting some 4,000 in again each time.
const IDLE_BEFORE_RELEASE: Duration = Duration::from_millis(500);

/// Serves requests until the parent closes stdin.
pub fn serve(memory_limit: u64, max_payload: u64) -> io::Result<()> {
    confine(memory_limit)?;
    let mut input = BufReader::with_capacity(1 << 20, io::stdin().lock());
    let mut output = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    while let Some((request, image)) =
        protocol::read_frame::<TransformRequest>(&mut input, max_payload)?
    {
        let started = cpu_time();
        let result = protocol::execute(&request, &image);
        drop(image);
        let cpu = cpu_time().saturating_sub(started);
        let (result, payload) = protocol::split(result);
        let reply = Reply {
            result,
            cpu_micros: cpu.as_micros() as u64,
        };
        protocol::write_frame(&mut output, &reply, &payload)?;
        drop(payload);
        if input.buffer().is_empty() && !stdin_readable_within(IDLE_BEFORE_RELEASE) {
            release_memory();
        }
    }
    Ok(())
}

/// CPU time this process has used, user and system.
pub fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

#[cfg(target_os = "linux")]
fn confine(memory_limit: u64) -> io::Result<()> {
    // SAFETY: plain system calls on this process with valid arguments.
    unsafe {
        // If the server dies, so does its worker, whatever it is decoding.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        let limit = libc::rlimit {
            rlim_cur: memory_limit,
            rlim_max: memory_limit,
        };
        if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
            return Err(io::Error::last_os_error());
        }
        // Transforms are batch work beside requests that wait on the server:
        // under a crowd, the kernel should run a download before a decode.
        // (A nice of 5 still gets an idle machine's every cycle.) Best effort.
        libc::setpriority(libc::PRIO_PROCESS, 0, WORKER_NICENESS);
    }
    Ok(())
}

#[cfg(target_os = "linux")]
const WORKER_NICENESS: libc::c_int = 5;

#[cfg(not(target_os = "linux"))]
fn confine(_memory_limit: u64) -> io::Result<()> {
    Ok(())
}

/// Whether the parent sends anything (or closes stdin) within `wait`.
fn stdin_readable_within(wait: Duration) -> bool {
    #[cfg(unix)]
    {
        let mut stdin = libc::pollfd {
            fd: libc::STDIN_FILENO,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll reads and writes only the one pollfd it is given.
        let ready = unsafe { libc::poll(&mut stdin, 1, wait.as_millis() as libc::c_int) };
        ready != 0
    }
    #[cfg(not(unix))]
    {
        let _ = wait;
        false
    }
}

/// Hands the last image's pages back, so an idle worker stays small.
fn release_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}
