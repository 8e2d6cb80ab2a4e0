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
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

mod measure;
mod stamp;

pub use measure::{
    OneWayDelays, RoundTrips, measure_one_way_delays, measure_round_trips, start_echo_server, start_stamped_echo_server,
};

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
/// write. On a busy machine that is tens to hundreds of microseconds, up to a `lan` round trip, so the relay learns
/// it and sets its timers that much early. After each write it compares the moment the segment left with the
/// moment it was due and moves the estimate one step towards it (up when it left late, down when early): the
/// estimate settles on the median lateness, so that segments leave on time on the median, whatever the tail. A
/// step is 1 µs, doubled (up to 64 µs) while the moves keep the same direction, so that the estimate follows a
/// machine whose load changes within a few dozen segments instead of hundreds, and is back to 1 µs steps once it
/// straddles the median. It stays between zero and a millisecond (it was seen above 0.25 ms on two cores at a load average of 12). (The reader's own wake-up needs no
/// estimate: a segment is due its delay after the kernel received it, by the kernel's timestamp, not after the
/// reader got to it.)
struct Lateness {
    nanoseconds: AtomicI64,
    /// The last move, signed: positive when it was up.
    last_step_ns: AtomicI64,
}

static LATENESS: Lateness = Lateness { nanoseconds: AtomicI64::new(0), last_step_ns: AtomicI64::new(0) };

/// The smallest and the largest move of the estimate.
const LATENESS_STEP_NS: (i64, i64) = (1_000, 64_000);

impl Lateness {
    fn estimate(&self) -> Duration {
        Duration::from_nanos(self.nanoseconds.load(Ordering::Relaxed).max(0) as u64)
    }

    fn observe(&self, due: Instant) {
        let late = Instant::now() > due;
        let last = self.last_step_ns.load(Ordering::Relaxed);
        let magnitude =
            if (last > 0) == late && last != 0 { (last.abs() * 2).min(LATENESS_STEP_NS.1) } else { LATENESS_STEP_NS.0 };
        let step = if late { magnitude } else { -magnitude };
        self.last_step_ns.store(step, Ordering::Relaxed);
        let current = self.nanoseconds.load(Ordering::Relaxed);
        self.nanoseconds.store((current + step).clamp(0, 1_000_000), Ordering::Relaxed);
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
            // Without timestamps a segment's delay runs from the moment it is read, which is still the profile's.
            let _ = stamp::enable(&client);
            let _ = stamp::enable(&server);
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            tokio::spawn(pump(client_read, server_write, delay));
            tokio::spawn(pump(server_read, client_write, delay));
        });
    }
}

/// One direction of one connection: a reader that stamps every segment with the time it may leave, and a writer
/// that waits for that time. A segment is due its delay after the kernel received it (`SO_TIMESTAMPNS`), so a
/// reader that the scheduler wakes late does not add its lateness to the link. Segments leave in order, as TCP's
/// would: a segment never overtakes the one before it, whatever the jitter drew.
async fn pump(from: tokio::net::tcp::OwnedReadHalf, mut to: tokio::net::tcp::OwnedWriteHalf, delay: LinkDelay) {
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
    let stream: &TcpStream = from.as_ref();
    let mut last_leave = Instant::now();
    let mut buffer = vec![0u8; 64 * 1024];
    while let Ok((read, arrived)) = read_stamped(stream, &mut buffer).await {
        if read == 0 {
            break;
        }
        let now = Instant::now();
        let arrived_at = arrived.and_then(|arrived| now.checked_sub(stamp::age(arrived))).unwrap_or(now);
        last_leave = (arrived_at + delay.draw()).max(last_leave);
        if sender.send((last_leave, buffer[..read].to_vec())).is_err() {
            break;
        }
    }
    drop(sender);
    let _ = writer.await;
}

/// Reads what `stream` has queued, with the kernel's receive timestamp of it, waiting through tokio's reactor.
async fn read_stamped(
    stream: &TcpStream,
    buffer: &mut [u8],
) -> std::io::Result<(usize, Option<std::time::SystemTime>)> {
    loop {
        stream.readable().await?;
        match stream.try_io(Interest::READABLE, || stamp::receive(stream, buffer)) {
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => continue,
            result => return result,
        }
    }
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

    /// The relay holds each segment for the profile's one-way delay, in each direction, and so adds the profile's
    /// round trip: each within 10% or 20 µs, whichever is larger (the tolerance). Each direction is timed
    /// from the sender's clock just before its write to the kernel's receive timestamp at the other end, through the
    /// relay and straight, so the measuring threads' own wake-ups, which a busy machine delays by hundreds of
    /// microseconds, are not counted. The jitter is symmetric, so it leaves the median where it was.
    #[test]
    fn the_relay_holds_each_segment_for_the_profiles_delay() {
        for profile in crate::network::profiles().into_iter().filter(|profile| !profile.is_loopback()) {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
            let echo = start_stamped_echo_server(2).unwrap();
            let relayed = runtime.block_on(start_link(echo, profile.link_delay())).unwrap();
            let delays = measure_one_way_delays(echo, relayed, 400).unwrap();
            eprintln!("{}: {delays:?}", profile.name);
            let round_trip_us = profile.round_trip_ms * 1000.0;
            let one_way_us = round_trip_us / 2.0;
            for (direction, added_us, expected_us) in [
                ("towards the server", delays.added_forward_us(), one_way_us),
                ("towards the client", delays.added_backward_us(), one_way_us),
                ("on the round trip", delays.added_round_trip_us(), round_trip_us),
            ] {
                let tolerance_us = (0.1 * expected_us).max(20.0);
                assert!(
                    (added_us - expected_us).abs() <= tolerance_us,
                    "{}: the relay added {added_us:.0} µs {direction}, expected {expected_us:.0} ± {tolerance_us:.0} \
                     ({delays:?})",
                    profile.name,
                );
            }
        }
    }
}
