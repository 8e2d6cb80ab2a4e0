//! `latency-vs-load.svg`: p50 and p99 of the dashboard against offered load, one colour per topology, drawn with
//! plotters' SVG backend (no system fonts needed).

use std::path::Path;

use plotters::prelude::*;

/// One topology's curve: (offered requests per second, p50 ms, p99 ms) per load point.
#[derive(Debug, Clone)]
pub struct Curve {
    /// The topology.
    pub topology: String,
    /// The load points, in increasing offered load.
    pub points: Vec<(f64, f64, f64)>,
}

const COLOURS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Draws the curves, with a logarithmic latency axis so that sub-millisecond and saturated points both show.
pub fn draw(file: &Path, title: &str, curves: &[Curve]) -> anyhow::Result<()> {
    let all = curves.iter().flat_map(|curve| curve.points.iter());
    let max_rate = all.clone().map(|point| point.0).fold(1.0_f64, f64::max) * 1.05;
    let max_latency = all.clone().map(|point| point.2.max(point.1)).fold(1.0_f64, f64::max) * 1.5;
    let min_latency = all.map(|point| point.1).filter(|value| *value > 0.0).fold(max_latency, f64::min) / 1.5;
    let root = SVGBackend::new(file, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..max_rate, (min_latency.max(0.01)..max_latency).log_scale())
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_desc("offered load (dashboard requests per second)")
        .y_desc("latency (ms, log scale)")
        .draw()
        .map_err(plot_error)?;
    for (index, curve) in curves.iter().enumerate() {
        let colour = COLOURS[index % COLOURS.len()];
        let p50: Vec<(f64, f64)> = curve.points.iter().map(|point| (point.0, point.1.max(0.01))).collect();
        let p99: Vec<(f64, f64)> = curve.points.iter().map(|point| (point.0, point.2.max(0.01))).collect();
        chart
            .draw_series(LineSeries::new(p50.clone(), colour.stroke_width(2)))
            .map_err(plot_error)?
            .label(format!("{} p50", curve.topology))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
        chart.draw_series(p50.iter().map(|point| Circle::new(*point, 3, colour.filled()))).map_err(plot_error)?;
        let dashed = colour.mix(0.6);
        chart
            .draw_series(DashedLineSeries::new(p99.clone(), 6, 4, dashed.stroke_width(2)))
            .map_err(plot_error)?
            .label(format!("{} p99", curve.topology))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], dashed.stroke_width(2)));
        chart
            .draw_series(p99.iter().map(|point| TriangleMarker::new(*point, 4, colour.filled())))
            .map_err(plot_error)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(plot_error)?;
    root.present().map_err(|error| anyhow::anyhow!("writing {}: {error}", file.display()))?;
    Ok(())
}

fn plot_error<E: std::fmt::Display>(error: E) -> anyhow::Error {
    anyhow::anyhow!("plotting: {error}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plot_has_a_labelled_curve_per_topology() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("plot.svg");
        let curves = vec![
            Curve { topology: "monolith".into(), points: vec![(100.0, 0.4, 1.2), (200.0, 0.5, 2.0)] },
            Curve { topology: "services".into(), points: vec![(100.0, 1.4, 4.0), (200.0, 90.0, 800.0)] },
        ];
        draw(&file, "dashboard latency", &curves).unwrap();
        let svg = std::fs::read_to_string(&file).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);
        for label in ["monolith p50", "monolith p99", "services p50", "services p99", "dashboard latency"] {
            assert!(svg.contains(label), "missing {label}");
        }
    }
}
