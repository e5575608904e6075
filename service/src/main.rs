//! The one flipframe binary: `serve` (default), `lambda`, `setup`,
//! `transform`, `token`, and the client commands (`login`, `upload`, `log`,
//! `get`, `completions`).

use clap::Parser;
use flipframe::auth::{DevIssuer, hash_token, new_token};
use flipframe::cli::{Cli, Command, TokenCommand, TransformArgs};
use flipframe::config::running_on_lambda;
use flipframe::pipeline::{self, Limits, TransformSpec};
use flipframe::{Application, Config, client, sandbox, telemetry};
use std::io::Read;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The allocation functions of the whole binary, C codecs included: build.rs
/// links it with `--wrap` for each, so libjpeg-turbo's and libwebp's blocks
/// get the huge-page advice of `flipframe::allocator` like Rust's.
#[cfg(target_os = "linux")]
mod wrapped_allocation {
    use flipframe::allocator::advise;
    use libc::{c_int, c_void, size_t};

    unsafe extern "C" {
        fn __real_malloc(size: size_t) -> *mut c_void;
        fn __real_calloc(count: size_t, size: size_t) -> *mut c_void;
        fn __real_realloc(block: *mut c_void, size: size_t) -> *mut c_void;
        fn __real_posix_memalign(out: *mut *mut c_void, align: size_t, size: size_t) -> c_int;
    }

    // SAFETY (all four): the C contract, passed on unchanged to the real
    // function; `advise` gets only the block it just returned, and its size.
    #[unsafe(no_mangle)]
    unsafe extern "C" fn __wrap_malloc(size: size_t) -> *mut c_void {
        unsafe { advise(__real_malloc(size).cast(), size).cast() }
    }

    #[unsafe(no_mangle)]
    unsafe extern "C" fn __wrap_calloc(count: size_t, size: size_t) -> *mut c_void {
        let block = unsafe { __real_calloc(count, size) };
        unsafe { advise(block.cast(), count.saturating_mul(size)).cast() }
    }

    #[unsafe(no_mangle)]
    unsafe extern "C" fn __wrap_realloc(block: *mut c_void, size: size_t) -> *mut c_void {
        unsafe { advise(__real_realloc(block, size).cast(), size).cast() }
    }

    #[unsafe(no_mangle)]
    unsafe extern "C" fn __wrap_posix_memalign(
        out: *mut *mut c_void,
        align: size_t,
        size: size_t,
    ) -> c_int {
        let status = unsafe { __real_posix_memalign(out, align, size) };
        if status == 0 {
            unsafe { advise((*out).cast(), size) };
        }
        status
    }
}

fn main() -> ExitCode {
    // Lambda starts `bootstrap` without arguments.
    let default = if running_on_lambda() {
        "lambda"
    } else {
        "serve"
    };
    let matches = <Cli as clap::CommandFactory>::command()
        // Once per process; clap keeps only 'static text without its `string` feature.
        .long_version(&*Box::leak(flipframe::version::long().into_boxed_str()))
        .get_matches();
    let parsed = <Cli as clap::FromArgMatches>::from_arg_matches(&matches)
        .unwrap_or_else(|error| error.exit());
    let command = parsed
        .command
        .or_else(|| Cli::parse_from(["flipframe", default]).command)
        .expect("serve and lambda are commands");
    let result = match command {
        // Commands that decode stay single-threaded: no runtime at all.
        Command::SandboxWorker(args) => {
            flipframe::allocator::tune_for_transforms();
            sandbox::worker::serve(args.memory_limit, args.max_payload).map_err(Into::into)
        }
        Command::Transform(args) => {
            flipframe::allocator::tune_for_transforms();
            return transform(&args);
        }
        Command::Token(command) => token(command),
        Command::Serve(args) => runtime().and_then(|rt| rt.block_on(serve(*args))),
        Command::Setup(args) => runtime().and_then(|rt| rt.block_on(setup(*args))),
        Command::Lambda(args) => runtime().and_then(|rt| rt.block_on(lambda(*args))),
        Command::Login(args) => return client(client::login(args)),
        Command::Upload(args) => return client(client::upload(args)),
        Command::Log(args) => return client(client::log(args)),
        Command::Get(args) => return client(client::get(args)),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "flipframe", &mut std::io::stdout());
            return ExitCode::SUCCESS;
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("flipframe: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a client command; its own exit code, or 2 for an error before any work.
fn client(command: impl std::future::Future<Output = anyhow::Result<ExitCode>>) -> ExitCode {
    match runtime().and_then(|rt| rt.block_on(command)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("flipframe: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    bound_allocator();
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Keeps the server's resident memory near its budgets. glibc gives each busy
/// thread its own arena (up to 8 per core) and, once large blocks have been
/// freed, raises its mmap threshold to 32 MiB, so upload bodies of a few MiB
/// come from arenas that fragment and are not given back: under `just load`
/// the server peaked at 714 MiB against 320 MiB of budgets, 346 MiB with this.
/// The `MALLOC_*` environment variables still win. Transform workers keep the
/// defaults: they are short-lived and bounded by their own limit.
fn bound_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let unset = |name: &str| std::env::var_os(name).is_none();
        // SAFETY: mallopt only sets allocator parameters; called before any thread starts.
        unsafe {
            if unset("MALLOC_ARENA_MAX") {
                libc::mallopt(libc::M_ARENA_MAX, 2);
            }
            if unset("MALLOC_MMAP_THRESHOLD_") {
                libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
            }
        }
    }
}

async fn serve(args: flipframe::cli::ServeArgs) -> anyhow::Result<()> {
    let config = Config::from_args(args)?;
    telemetry::init(config.log_format);
    Application::build(config)
        .await?
        .run_until_stopped()
        .await?;
    Ok(())
}

async fn lambda(args: flipframe::cli::LambdaArgs) -> anyhow::Result<()> {
    let config = Config::from_args(args.serve)?;
    telemetry::init_lambda();
    flipframe::lambda::run(args.role, config).await
}

async fn setup(args: flipframe::cli::ServeArgs) -> anyhow::Result<()> {
    let config = Config::from_args(args)?;
    telemetry::init(config.log_format);
    for created in flipframe::app::create_missing_resources(&config).await? {
        println!("{created}");
    }
    Ok(())
}

/// Exit codes: 0 done, 1 I/O trouble, 2 the image was refused (same text as the API).
fn transform(args: &TransformArgs) -> ExitCode {
    let limits = Limits::from(&args.limits);
    let spec = TransformSpec {
        fit: args.fit,
        ..TransformSpec::default()
    };
    let input = match std::fs::read(&args.input) {
        Ok(bytes) => bytes,
        Err(error) => {
            eprintln!("flipframe: cannot read {}: {error}", args.input.display());
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    let encoded = match pipeline::transform(&input, &spec, &limits) {
        Ok(encoded) => encoded,
        Err(rejection) => {
            eprintln!("flipframe: {rejection} ({})", rejection.code());
            return ExitCode::from(2);
        }
    };
    let elapsed = started.elapsed();
    let warm = warm_median(args.repeat, || pipeline::transform(&input, &spec, &limits));
    if let Err(error) = std::fs::write(&args.output, &encoded.bytes) {
        eprintln!("flipframe: cannot write {}: {error}", args.output.display());
        return ExitCode::FAILURE;
    }
    eprintln!(
        "{} → {} ({} {}×{}, {} bytes) in {:.1} ms",
        args.input.display(),
        args.output.display(),
        encoded.format.content_type(),
        encoded.width,
        encoded.height,
        encoded.bytes.len(),
        elapsed.as_secs_f64() * 1000.0
    );
    if let Some(warm) = warm {
        eprintln!(
            "warm median of {}: {:.1} ms",
            args.repeat,
            warm.as_secs_f64() * 1000.0
        );
    }
    ExitCode::SUCCESS
}

/// The median time of `runs` more runs of `work`, which has run once already.
fn warm_median<T>(runs: usize, mut work: impl FnMut() -> T) -> Option<Duration> {
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(work());
            started.elapsed()
        })
        .collect();
    samples.sort();
    samples.get(runs / 2).copied()
}

fn token(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Hash => {
            let mut input = String::new();
            std::io::stdin().read_to_string(&mut input)?;
            println!("{}", hash_token(input.trim_end_matches(['\r', '\n']))?);
        }
        TokenCommand::New { name } => {
            let token = new_token();
            let hash = hash_token(&token)?;
            println!("token:  {token}");
            println!("sha256: {hash}");
            println!("# give the token to the external system; configure only the hash:");
            println!("FLIPFRAME_EXTERNAL_TOKENS={name}:{hash}");
        }
        TokenCommand::Dev {
            user,
            email,
            ttl,
            data,
        } => {
            anyhow::ensure!(!running_on_lambda(), "dev tokens are refused on AWS Lambda");
            let issuer = DevIssuer::load_or_create(&data.data_dir)?;
            println!("{}", issuer.mint_access(&user, email.as_deref(), ttl)?);
        }
    }
    Ok(())
}
