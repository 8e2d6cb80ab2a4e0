//! Measuring a link: the round trip an application pays through a relay (what a run reports and the grid's
//! prediction uses), and the delay the relay itself adds to each direction, between kernel receive timestamps (what
//! the relay's test asserts).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::stamp;

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

/// The medians of each direction's one-way time across a link, without a relay and through one, in microseconds.
/// Each one-way time runs from the sender's clock just before its write to the kernel's receive timestamp at the
/// other end, so the receiver's wake-up never counts, and neither does the sender's between two messages: on a
/// busy machine the scheduler delays the measuring threads by tens or hundreds of microseconds, which a round trip
/// timed by its client counts in full, but which no segment spends on the link.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OneWayDelays {
    /// Messages measured each way.
    pub samples: usize,
    /// Client to echo server, straight.
    pub direct_forward_us: f64,
    /// Echo server to client, straight.
    pub direct_backward_us: f64,
    /// Client to echo server, through the relay.
    pub relayed_forward_us: f64,
    /// Echo server to client, through the relay.
    pub relayed_backward_us: f64,
}

impl OneWayDelays {
    /// What the relay adds towards the server.
    pub fn added_forward_us(&self) -> f64 {
        self.relayed_forward_us - self.direct_forward_us
    }

    /// What the relay adds towards the client.
    pub fn added_backward_us(&self) -> f64 {
        self.relayed_backward_us - self.direct_backward_us
    }

    /// What the relay adds to a round trip: both directions.
    pub fn added_round_trip_us(&self) -> f64 {
        self.added_forward_us() + self.added_backward_us()
    }
}

/// The size of a question and of its answer: the first eight bytes carry a time, the rest is padding.
const STAMPED_MESSAGE: usize = 64;

/// Starts an echo server for [`measure_one_way_delays`] on a free loopback port, in a thread that serves
/// `connections` connections and ends. A question carries the time it was sent; the answer carries how long the
/// question took to arrive (from that time to the kernel's receive timestamp) and the time the answer was sent.
pub fn start_stamped_echo_server(connections: usize) -> std::io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    std::thread::spawn(move || {
        for stream in listener.incoming().take(connections) {
            let Ok(stream) = stream else { continue };
            std::thread::spawn(move || {
                let _ = answer_stamped(stream);
            });
        }
    });
    Ok(address)
}

/// What a question's answer carries in place of its travel time when the kernel did not stamp its arrival (it may
/// leave the first segments after timestamps are switched on unstamped, while it enables them machine-wide).
const UNSTAMPED: i64 = i64::MIN;

fn answer_stamped(mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    stamp::enable(&stream)?;
    let mut question = [0u8; STAMPED_MESSAGE];
    let mut answer = [0u8; STAMPED_MESSAGE];
    while let Received::Message { arrived } = read_stamped_message(&stream, &mut question)? {
        let sent = i64::from_le_bytes(question[..8].try_into().expect("eight bytes"));
        let there = arrived.map_or(UNSTAMPED, |arrived| stamp::nanoseconds(arrived) - sent);
        answer[..8].copy_from_slice(&there.to_le_bytes());
        answer[8..16].copy_from_slice(&stamp::nanoseconds(SystemTime::now()).to_le_bytes());
        stream.write_all(&answer)?;
    }
    Ok(())
}

/// One read of a whole message.
enum Received {
    /// The stream ended.
    Closed,
    /// A message, with the kernel's receive timestamp of its last byte when the kernel stamped it.
    Message { arrived: Option<SystemTime> },
}

fn read_stamped_message(stream: &TcpStream, message: &mut [u8]) -> std::io::Result<Received> {
    let mut filled = 0;
    let mut arrived = None;
    while filled < message.len() {
        let (read, stamped) = stamp::receive(stream, &mut message[filled..])?;
        if read == 0 {
            return Ok(Received::Closed);
        }
        filled += read;
        arrived = stamped;
    }
    Ok(Received::Message { arrived })
}

/// Measures `samples` messages each way to `direct` (a [`start_stamped_echo_server`]) and as many to `relayed` (a
/// relay in front of the same server), interleaved so that both see the same moments of a busy machine, and
/// returns the medians of each direction.
pub fn measure_one_way_delays(
    direct: SocketAddr,
    relayed: SocketAddr,
    samples: usize,
) -> std::io::Result<OneWayDelays> {
    let connect = |address: SocketAddr| -> std::io::Result<TcpStream> {
        let stream = TcpStream::connect(address)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        stamp::enable(&stream)?;
        Ok(stream)
    };
    let mut streams = [connect(direct)?, connect(relayed)?];
    let mut forward: [Vec<f64>; 2] = [Vec::with_capacity(samples), Vec::with_capacity(samples)];
    let mut backward: [Vec<f64>; 2] = [Vec::with_capacity(samples), Vec::with_capacity(samples)];
    let mut question = [0u8; STAMPED_MESSAGE];
    let mut answer = [0u8; STAMPED_MESSAGE];
    // As in `measure_round_trips`: messages that are not counted, while the relay learns how late it wakes. A
    // message whose arrival either end's kernel did not stamp is not counted either, and is made up for, within a
    // bound.
    const WARM_UP: usize = 100;
    let mut rounds = 0;
    while forward[1].len() < samples {
        rounds += 1;
        if rounds > WARM_UP + 2 * samples {
            return Err(std::io::Error::other(format!(
                "the kernel stamped {} of {} messages through the relay",
                forward[1].len(),
                rounds - WARM_UP
            )));
        }
        let mut measured = [None, None];
        for (index, stream) in streams.iter_mut().enumerate() {
            question[..8].copy_from_slice(&stamp::nanoseconds(SystemTime::now()).to_le_bytes());
            stream.write_all(&question)?;
            let Received::Message { arrived } = read_stamped_message(stream, &mut answer)? else {
                return Err(std::io::Error::other("the echo server closed the connection"));
            };
            let there = i64::from_le_bytes(answer[..8].try_into().expect("eight bytes"));
            let answered = i64::from_le_bytes(answer[8..16].try_into().expect("eight bytes"));
            if let (Some(arrived), false) = (arrived, there == UNSTAMPED) {
                measured[index] = Some((there as f64 / 1e3, (stamp::nanoseconds(arrived) - answered) as f64 / 1e3));
            }
        }
        // Both paths are counted in the same rounds, so that they see the same moments of the machine.
        if let ([Some(direct), Some(relayed)], true) = (measured, rounds > WARM_UP) {
            for (index, (there, back)) in [direct, relayed].into_iter().enumerate() {
                forward[index].push(there);
                backward[index].push(back);
            }
        }
    }
    let [direct_forward, relayed_forward] = forward;
    let [direct_backward, relayed_backward] = backward;
    Ok(OneWayDelays {
        samples,
        direct_forward_us: median(direct_forward),
        direct_backward_us: median(direct_backward),
        relayed_forward_us: median(relayed_forward),
        relayed_backward_us: median(relayed_backward),
    })
}
