//! The network between hosts, emulated in user space: a TCP relay per link that holds every segment it reads for
//! the profile's one-way delay (plus jitter) before forwarding it, in each direction, as toxiproxy's latency toxic
//! does. This machine's kernel has no `netem`, so this is the emulation every run uses.
//!
//! The wait must be sub-millisecond: tokio's timer wheel rounds up to whole milliseconds, which would turn a 0.15 ms
//! one-way delay into 1 ms or more. Each direction of a connection therefore waits on a `timerfd` of its own (a
//! kernel high-resolution timer, with no timer slack applied) registered with tokio's reactor.
//!
//! The relays of a deployment run in one process of their own (`seams-loadtest relay`), outside the app's CPU
//! budget, so that their CPU is counted apart. It takes one target address per line on stdin and answers each with
//! `listening on ADDRESS`; when stdin closes (its parent ended, however it ended) it exits.

use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use anyhow::Context;
use rustix::time::{Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec};
use serde::{Deserialize, Serialize};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// What a link adds to every segment, one way.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkDelay {
    /// Half the profile's round trip.
    pub one_way: Duration,
    /// Each segment's delay is drawn uniformly within `one_way ± jitter`.
    pub jitter: Duration,
}

impl LinkDelay {
    fn draw(&self) -> Duration {
        if self.jitter.is_zero() {
            return self.one_way;
        }
        let jitter = self.jitter.as_secs_f64();
        let offset = rand::random_range(-jitter..=jitter);
        Duration::from_secs_f64((self.one_way.as_secs_f64() + offset).max(0.0))
    }
}

/// How late a segment leaves after its timer fires: the reactor's wake-up, the task's turn on a worker, and the
/// write. On a busy machine that is tens of microseconds, a tenth of a `lan` round trip, so the relay learns it
/// and sets its timers that much early. After each write it compares the moment the segment left with the moment
/// it was due and moves the estimate one step towards it (up when it left late, down when early): the estimate
/// settles on the median lateness, so that segments leave on time on the median, whatever the tail. It stays
/// between zero and a quarter of a millisecond.
struct Lateness {
    nanoseconds: AtomicI64,
}

static LATENESS: Lateness = Lateness { nanoseconds: AtomicI64::new(0) };

/// How far one observation moves the estimate.
const LATENESS_STEP_NS: i64 = 1_000;

impl Lateness {
    fn estimate(&self) -> Duration {
        Duration::from_nanos(self.nanoseconds.load(Ordering::Relaxed).max(0) as u64)
    }

    fn observe(&self, due: Instant) {
        let step = if Instant::now() > due { LATENESS_STEP_NS } else { -LATENESS_STEP_NS };
        let current = self.nanoseconds.load(Ordering::Relaxed);
        self.nanoseconds.store((current + step).clamp(0, 250_000), Ordering::Relaxed);
    }
}

/// A high-resolution one-shot timer: a `timerfd` on the monotonic clock, awaited through tokio's reactor.
struct PreciseTimer {
    fd: AsyncFd<OwnedFd>,
}

impl PreciseTimer {
    fn new() -> std::io::Result<PreciseTimer> {
        let fd =
            rustix::time::timerfd_create(TimerfdClockId::Monotonic, TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC)?;
        // `AsyncFd::new` is deprecated because a caller could close the descriptor while it is registered, which
        // its `unsafe` replacement makes the caller promise not to do. This one is an `OwnedFd` that only the
        // `AsyncFd` holds, so it is closed after it is deregistered, and the crate forbids `unsafe`.
        #[allow(deprecated)]
        let fd = AsyncFd::new(fd)?;
        Ok(PreciseTimer { fd })
    }

    /// Returns at `deadline` (or at once when it has passed).
    async fn sleep_until(&self, deadline: Instant) -> std::io::Result<()> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Ok(());
        }
        let value = Timespec { tv_sec: remaining.as_secs() as i64, tv_nsec: i64::from(remaining.subsec_nanos()) };
        let zero = Timespec { tv_sec: 0, tv_nsec: 0 };
        rustix::time::timerfd_settime(
            self.fd.get_ref(),
            TimerfdTimerFlags::empty(),
            &Itimerspec { it_interval: zero, it_value: value },
        )?;
        loop {
            let mut guard = self.fd.readable().await?;
            let mut expirations = [0u8; 8];
            match rustix::io::read(guard.get_inner(), &mut expirations) {
                Ok(_) => return Ok(()),
                Err(rustix::io::Errno::AGAIN) => guard.clear_ready(),
                Err(error) => return Err(error.into()),
            }
        }
    }
}

/// Accepts connections on `listener` forever and relays each to `target` with `delay` on every segment, both ways.
pub async fn serve_link(listener: TcpListener, target: SocketAddr, delay: LinkDelay) {
    loop {
        let Ok((client, _)) = listener.accept().await else { continue };
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(target).await else { return };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            tokio::spawn(pump(client_read, server_write, delay));
            tokio::spawn(pump(server_read, client_write, delay));
        });
    }
}

/// One direction of one connection: a reader that stamps every segment with the time it may leave, and a writer
/// that waits for that time. Segments leave in order, as TCP's would: a segment never overtakes the one before it,
/// whatever the jitter drew.
async fn pump(mut from: tokio::net::tcp::OwnedReadHalf, mut to: tokio::net::tcp::OwnedWriteHalf, delay: LinkDelay) {
    let (sender, mut receiver) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let writer = tokio::spawn(async move {
        let Ok(timer) = PreciseTimer::new() else { return };
        while let Some((leave_at, segment)) = receiver.recv().await {
            let wake_at = leave_at.checked_sub(LATENESS.estimate()).unwrap_or(leave_at);
            // Only a segment that is not yet due when its turn comes says how late the relay is; one that queued
            // past its time behind others says how busy the link is.
            let waits = leave_at > Instant::now();
            if timer.sleep_until(wake_at).await.is_err() || to.write_all(&segment).await.is_err() {
                return;
            }
            if waits {
                LATENESS.observe(leave_at);
            }
        }
        let _ = to.shutdown().await;
    });
    let mut last_leave = Instant::now();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => {
                last_leave = (Instant::now() + delay.draw()).max(last_leave);
                if sender.send((last_leave, buffer[..read].to_vec())).is_err() {
                    break;
                }
            }
        }
    }
    drop(sender);
    let _ = writer.await;
}

/// Starts a relay to `target` on a free loopback port and returns its address.
pub async fn start_link(target: SocketAddr, delay: LinkDelay) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(serve_link(listener, target, delay));
    Ok(address)
}

/// `seams-loadtest relay`: reads a target address per line on stdin, answers `listening on ADDRESS` for each, and
/// returns when stdin closes. Stdin is read by a plain thread (tokio's stdin needs a feature the rest of the
/// workspace does not use).
pub async fn serve_stdin(delay: LinkDelay) -> anyhow::Result<()> {
    use std::io::{BufRead, Write};
    let (sender, mut receiver) = mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    while let Some(line) = receiver.recv().await {
        let target: SocketAddr = line.trim().parse().with_context(|| format!("a target address, got {line:?}"))?;
        let address = start_link(target, delay).await?;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on {address}")?;
        stdout.flush()?;
    }
    Ok(())
}

/// The relay process of one deployment, seen from the orchestrator.
#[derive(Debug)]
pub struct RelayProcess {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl RelayProcess {
    /// Starts `seams-loadtest relay` (the binary at `loadtest`) with `delay` on every link.
    pub fn start(loadtest: &std::path::Path, delay: LinkDelay) -> anyhow::Result<RelayProcess> {
        let mut child = std::process::Command::new(loadtest)
            .arg("relay")
            .arg(format!("--one-way-us={}", delay.one_way.as_micros()))
            .arg(format!("--jitter-us={}", delay.jitter.as_micros()))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .context("starting seams-loadtest relay")?;
        let stdin = child.stdin.take();
        let stdout = std::io::BufReader::new(child.stdout.take().context("the relay's stdout")?);
        Ok(RelayProcess { child, stdin, stdout })
    }

    /// Opens a link to `target` (`127.0.0.1:PORT` or `http://127.0.0.1:PORT`) and returns its address in the same
    /// form.
    pub fn link(&mut self, target: &str) -> anyhow::Result<String> {
        use std::io::{BufRead, Write};
        let (scheme, address) = match target.split_once("://") {
            Some((scheme, address)) => (Some(scheme), address.trim_end_matches('/')),
            None => (None, target),
        };
        let stdin = self.stdin.as_mut().context("the relay was stopped")?;
        writeln!(stdin, "{address}").context("asking the relay for a link")?;
        stdin.flush()?;
        let mut line = String::new();
        self.stdout.read_line(&mut line).context("reading the relay's answer")?;
        let relayed =
            line.trim().strip_prefix("listening on ").with_context(|| format!("the relay answered {line:?}"))?;
        Ok(match scheme {
            Some(scheme) => format!("{scheme}://{relayed}"),
            None => relayed.to_owned(),
        })
    }

    /// The relay's pid, for its CPU time.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        // Closing stdin ends it; a kill makes sure.
        self.stdin.take();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The medians of round trips of a small message to an echo server, without a relay and through one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RoundTrips {
    /// Round trips measured each way.
    pub samples: usize,
    /// The median round trip straight to the echo server, in microseconds.
    pub direct_median_us: f64,
    /// The median round trip through the relay, in microseconds.
    pub relayed_median_us: f64,
}

impl RoundTrips {
    /// What the relay adds to a round trip, in microseconds: the difference of the medians, which leaves out what
    /// both paths pay (the echo, the client, the kernel's loopback).
    pub fn added_us(&self) -> f64 {
        self.relayed_median_us - self.direct_median_us
    }
}

/// Starts an echo server on a free loopback port, in a thread that serves `connections` connections and ends.
pub fn start_echo_server(connections: usize) -> std::io::Result<SocketAddr> {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    std::thread::spawn(move || {
        for stream in listener.incoming().take(connections) {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_nodelay(true);
            std::thread::spawn(move || {
                let mut buffer = [0u8; 4096];
                while let Ok(read) = stream.read(&mut buffer) {
                    if read == 0 || stream.write_all(&buffer[..read]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    Ok(address)
}

/// Measures `samples` round trips of a 64-byte message to `direct` and as many to `relayed` (a relay in front of
/// the same echo server), interleaved so that both see the same moments of a busy machine, and returns the medians.
pub fn measure_round_trips(direct: SocketAddr, relayed: SocketAddr, samples: usize) -> std::io::Result<RoundTrips> {
    use std::io::{Read, Write};
    let connect = |address: SocketAddr| -> std::io::Result<std::net::TcpStream> {
        let stream = std::net::TcpStream::connect(address)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        Ok(stream)
    };
    let mut streams = [connect(direct)?, connect(relayed)?];
    let mut times: [Vec<f64>; 2] = [Vec::with_capacity(samples), Vec::with_capacity(samples)];
    let message = [7u8; 64];
    let mut answer = [0u8; 64];
    // Round trips first that are not counted: neither path's first connection costs count, and the relay learns
    // how late it wakes (see `Lateness`), as it does during a deployment's warm-up.
    const WARM_UP: usize = 100;
    for round in 0..samples + WARM_UP {
        for (stream, times) in streams.iter_mut().zip(times.iter_mut()) {
            let started = std::time::Instant::now();
            stream.write_all(&message)?;
            stream.read_exact(&mut answer)?;
            if round >= WARM_UP {
                times.push(started.elapsed().as_secs_f64() * 1e6);
            }
        }
    }
    let [direct_times, relayed_times] = times;
    Ok(RoundTrips { samples, direct_median_us: median(direct_times), relayed_median_us: median(relayed_times) })
}

fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_delay_stays_within_its_jitter_and_never_goes_below_zero() {
        let delay = LinkDelay { one_way: Duration::from_micros(150), jitter: Duration::from_micros(50) };
        for _ in 0..1_000 {
            let drawn = delay.draw();
            assert!(drawn >= Duration::from_micros(100) && drawn <= Duration::from_micros(200), "{drawn:?}");
        }
        let wide = LinkDelay { one_way: Duration::from_micros(10), jitter: Duration::from_micros(50) };
        assert!((0..1_000).all(|_| wide.draw() <= Duration::from_micros(60)));
        let none = LinkDelay { one_way: Duration::from_micros(10), jitter: Duration::ZERO };
        assert_eq!(none.draw(), Duration::from_micros(10));
    }

    /// The relay adds the profile's round trip: the difference of the medians of many round trips through it and
    /// without it is within 10% or 20 µs of the profile's round trip, whichever is larger (the tolerance).
    /// The jitter is symmetric, so it leaves the median where it was. Run serially (`.config/nextest.toml`), so
    /// that no other test's load sits between a timer's expiry and the relay's wake-up.
    #[test]
    fn the_relay_adds_the_profiles_round_trip() {
        for profile in crate::network::profiles().into_iter().filter(|profile| !profile.is_loopback()) {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
            let echo = start_echo_server(2).unwrap();
            let relayed = runtime.block_on(start_link(echo, profile.link_delay())).unwrap();
            let trips = measure_round_trips(echo, relayed, 400).unwrap();
            let expected_us = profile.round_trip_ms * 1000.0;
            let tolerance_us = (0.1 * expected_us).max(20.0);
            assert!(
                (trips.added_us() - expected_us).abs() <= tolerance_us,
                "{}: the relay added {:.0} µs to the median round trip, expected {expected_us:.0} ± {tolerance_us:.0} \
                 ({trips:?})",
                profile.name,
                trips.added_us()
            );
        }
    }
}
