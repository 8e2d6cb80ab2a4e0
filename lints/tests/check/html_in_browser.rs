//! Opens the HTML graph view in headless Chromium: it must run without console messages and
//! draw the graph.
//!
//! Chromium writes every console message of a page to stderr (with `--enable-logging=stderr`)
//! as `INFO:CONSOLE:<line>] "<message>", source: <url> (<line>)`, at the same level for
//! `console.log`, `console.error` and uncaught exceptions. So the test allows no console line
//! at all, and first proves on a throwaway page that a deliberate `console.error` is caught,
//! so that a change in Chromium's log format fails the test instead of silencing it.

use seams::render::{
    CutSearch, CycleView, EdgeKind, ExtractionBlocker, GraphView, ModuleEdge, ModuleMetrics, ModuleNode, SuggestedCut,
    TableEdge, TableEdgeKind, TableNode, render_html,
};
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 900;

#[test]
fn html_renders_in_chromium() {
    let Some(chromium) = find_on_path("chromium") else {
        // CI installs Chromium (`.ci/run`), so a missing browser there is a broken setup, not a skip.
        assert!(
            std::env::var_os("CI").is_none(),
            "html_renders_in_chromium: `chromium` is not on PATH, but CI is set; `.ci/run` installs it with apt-get"
        );
        println!(
            "skipped: html_renders_in_chromium: `chromium` is not on PATH; install it (apt-get install chromium) \
             and run `cargo nextest run -p seams html_renders_in_chromium`"
        );
        return;
    };
    let scratch = tempfile::tempdir().unwrap();

    // The control: a page that logs an error must be caught by the same check.
    let control = scratch.path().join("control.html");
    std::fs::write(&control, "<!DOCTYPE html><p>control</p><script>console.error(\"seams control error\")</script>\n")
        .unwrap();
    let control_run = run_chromium(&chromium, scratch.path(), &control, "control");
    let control_messages = console_lines(&control_run.stderr);
    assert!(
        control_messages.iter().any(|line| line.contains("seams control error")),
        "a deliberate console.error was not seen; Chromium's log format may have changed:\n{}",
        control_run.stderr
    );

    let page = scratch.path().join("graph.html");
    std::fs::write(&page, render_html(&sample_view()).unwrap()).unwrap();
    let run = run_chromium(&chromium, scratch.path(), &page, "graph");
    let messages = console_lines(&run.stderr);
    assert!(messages.is_empty(), "the page logged to the console:\n{}", messages.join("\n"));

    let pixels = decode_rgb(&run.screenshot);
    assert_eq!(pixels.len(), (WIDTH * HEIGHT) as usize, "the screenshot has the window's size");
    // The page is white cards on a light grey ground; anything else is ink: text, lines, fills.
    let ink =
        pixels.iter().filter(|&&pixel| !is_near(pixel, [255, 255, 255]) && !is_near(pixel, [0xee, 0xf1, 0xf4])).count();
    assert!(ink > pixels.len() / 50, "the screenshot is nearly blank: {ink} ink pixels of {}", pixels.len());
    // Modules in a cycle are filled with this yellow, which only the drawing uses in bulk;
    // three such boxes cover well over two thousand pixels.
    let cycle_fill = pixels.iter().filter(|&&pixel| is_near(pixel, [0xff, 0xf8, 0xc5])).count();
    assert!(cycle_fill > 2_000, "the graph's cyclic modules were not drawn: {cycle_fill} yellow pixels");

    // With `[layers] order`, the layers are horizontal bands, stacked in their order: reading
    // the screenshot top to bottom, the rows that the bands' two alternating fills cover from
    // side to side come in runs of one fill, then the other, then the first again.
    let mut layered = sample_view();
    layered.layers =
        vec![vec!["shipping".to_owned()], vec!["orders".to_owned(), "billing".to_owned()], vec!["catalog".to_owned()]];
    let page = scratch.path().join("layers.html");
    std::fs::write(&page, render_html(&layered).unwrap()).unwrap();
    let run = run_chromium(&chromium, scratch.path(), &page, "layers");
    let messages = console_lines(&run.stderr);
    assert!(messages.is_empty(), "the page with layers logged to the console:\n{}", messages.join("\n"));
    let pixels = decode_rgb(&run.screenshot);
    let (even_fill, odd_fill) = ([0xea, 0xf2, 0xfb], [0xf4, 0xee, 0xfa]);
    let mut runs: Vec<(&str, usize)> = Vec::new();
    for row in pixels.chunks_exact(WIDTH as usize) {
        let count = |fill: [u8; 3]| row.iter().filter(|&&pixel| is_near(pixel, fill)).count();
        // A band spans the drawing; half the window's width is more than any box or label covers.
        let band = if count(even_fill) > WIDTH as usize / 2 {
            "even"
        } else if count(odd_fill) > WIDTH as usize / 2 {
            "odd"
        } else {
            continue;
        };
        match runs.last_mut() {
            Some((last, rows)) if *last == band => *rows += 1,
            _ => runs.push((band, 1)),
        }
    }
    let order: Vec<&str> = runs.iter().map(|(band, _)| *band).collect();
    assert_eq!(order, ["even", "odd", "even"], "the bands of the layers, top to bottom: {runs:?}");
    assert!(runs.iter().all(|(_, rows)| *rows >= 20), "every band is a strip, not a line: {runs:?}");
}

struct ChromiumRun {
    stderr: String,
    screenshot: PathBuf,
}

/// Takes a screenshot of `page` with a fresh profile, and keeps Chromium's stderr.
fn run_chromium(chromium: &Path, scratch: &Path, page: &Path, name: &str) -> ChromiumRun {
    let screenshot = scratch.join(format!("{name}.png"));
    let profile = scratch.join(format!("{name}-profile"));
    let stderr_path = scratch.join(format!("{name}.stderr"));
    let stderr_file = std::fs::File::create(&stderr_path).unwrap();
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg(format!("--window-size={WIDTH},{HEIGHT}"))
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr_file)
        .spawn()
        .unwrap();
    // Headless Chromium takes a few seconds on this machine; a hang must fail, not block CI.
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within two minutes on {}", page.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    assert!(status.success(), "chromium failed with {status}:\n{stderr}");
    assert!(screenshot.is_file(), "chromium wrote no screenshot:\n{stderr}");
    ChromiumRun { stderr, screenshot }
}

/// The console messages in Chromium's log, whatever their level.
fn console_lines(stderr: &str) -> Vec<String> {
    stderr.lines().filter(|line| line.contains(":CONSOLE")).map(str::to_owned).collect()
}

/// Decodes a PNG into RGB triples.
fn decode_rgb(path: &Path) -> Vec<[u8; 3]> {
    let mut decoder = png::Decoder::new(BufReader::new(std::fs::File::open(path).unwrap()));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().unwrap();
    let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut buffer).unwrap();
    let bytes = &buffer[..frame.buffer_size()];
    match frame.color_type {
        png::ColorType::Rgb => bytes.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect(),
        png::ColorType::Rgba => bytes.chunks_exact(4).map(|c| [c[0], c[1], c[2]]).collect(),
        png::ColorType::Grayscale => bytes.iter().map(|&g| [g, g, g]).collect(),
        png::ColorType::GrayscaleAlpha => bytes.chunks_exact(2).map(|c| [c[0], c[0], c[0]]).collect(),
        png::ColorType::Indexed => panic!("normalize_to_color8 expands palettes"),
    }
}

fn is_near(pixel: [u8; 3], colour: [u8; 3]) -> bool {
    pixel.iter().zip(colour).all(|(&channel, target)| channel.abs_diff(target) <= 3)
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|directory| directory.join(program)).find(|candidate| candidate.is_file())
}

fn module(name: &str, files: usize, lines: usize, fan_in: usize, fan_out: usize) -> ModuleNode {
    let metrics = ModuleMetrics {
        fan_in,
        fan_out,
        instability: ModuleMetrics::instability_of(fan_in, fan_out),
        ..ModuleMetrics::default()
    };
    ModuleNode { name: name.to_owned(), crate_name: "shop".to_owned(), files, lines, metrics }
}

fn edge(
    from: &str,
    to: &str,
    reference_count: usize,
    kind: EdgeKind,
    violation_count: usize,
    in_cycle: bool,
) -> ModuleEdge {
    ModuleEdge { from: from.to_owned(), to: to.to_owned(), reference_count, kind, violation_count, in_cycle }
}

/// Six modules with a three-module cycle, a violation, a declared-only edge and two tables.
fn sample_view() -> GraphView {
    let cycle_modules = vec!["billing".to_owned(), "orders".to_owned(), "payments".to_owned()];
    let mut nodes = vec![
        module("billing", 5, 412, 1, 1),
        module("catalog", 10, 1_230, 1, 1),
        module("orders", 12, 1_480, 2, 2),
        module("payments", 8, 903, 1, 1),
        module("shipping", 6, 700, 0, 2),
        module("users", 4, 310, 2, 0),
    ];
    for node in &mut nodes {
        if cycle_modules.contains(&node.name) {
            node.metrics.cycles = vec![0];
            node.metrics
                .extraction_blockers
                .push(ExtractionBlocker::Cycle { cycle: 0, modules: cycle_modules.clone() });
        }
    }
    nodes[0].metrics.internal_references_made = 2;
    nodes[2].metrics.internal_references_received = 2;
    nodes[2].metrics.tables_owned = vec!["orders".to_owned()];
    nodes[2]
        .metrics
        .extraction_blockers
        .push(ExtractionBlocker::InboundInternalReferences { from_module: "billing".to_owned(), count: 2 });
    nodes[4].metrics.foreign_tables_touched = vec!["orders".to_owned()];
    nodes[4].metrics.extraction_blockers.push(ExtractionBlocker::ForeignTableAccess {
        table: "orders".to_owned(),
        owner: "orders".to_owned(),
        count: 3,
    });
    GraphView {
        workspace_name: "shop".to_owned(),
        nodes,
        edges: vec![
            edge("billing", "orders", 2, EdgeKind::Both, 2, true),
            edge("catalog", "users", 4, EdgeKind::Both, 0, false),
            edge("orders", "catalog", 9, EdgeKind::Both, 0, false),
            edge("orders", "payments", 14, EdgeKind::Both, 0, true),
            edge("payments", "billing", 3, EdgeKind::Actual, 0, true),
            edge("shipping", "orders", 5, EdgeKind::Both, 0, false),
            edge("shipping", "users", 0, EdgeKind::Declared, 0, false),
        ],
        cycles: vec![CycleView {
            modules: cycle_modules,
            cycle: vec!["billing".into(), "orders".into(), "payments".into(), "billing".into()],
            suggested_cuts: vec![SuggestedCut { from: "billing".into(), to: "orders".into(), count: 2 }],
            cut_search: CutSearch::Exact,
        }],
        tables: Some(vec![TableNode { name: "orders".to_owned(), owners: vec!["orders".to_owned()] }]),
        table_edges: vec![
            TableEdge {
                module: "orders".into(),
                table: "orders".into(),
                kind: TableEdgeKind::Owns,
                foreign: false,
                count: 1,
            },
            TableEdge {
                module: "shipping".into(),
                table: "orders".into(),
                kind: TableEdgeKind::Accesses,
                foreign: true,
                count: 3,
            },
        ],
        focus: None,
        layers: Vec::new(),
    }
}
