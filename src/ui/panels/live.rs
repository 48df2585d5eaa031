//! The live strip under the data files: events per second, the newest event's time, the
//! lag from the file's change to the refreshed list, what each signal did with the last
//! batch, and the full refit.

use eframe::egui;
use egui::RichText;

use crate::session::Command;
use crate::session::workbench::job;
use crate::ui::context::PanelContext;
use crate::ui::theme;

/// Draws the live strip when live mode is on.
pub fn strip(ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
    let live = cx.wb.live();
    if !live.is_on() {
        return;
    }
    let stats = live.stats();
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new("LIVE").color(theme::UP).strong());
        ui.label(format!("{:.1} events/s", stats.events_per_second()));
        let last = stats.last_event.map_or_else(
            || "no new event yet".to_owned(),
            |t| format!("last event {}", crate::data::timestamp::format_utc(t)),
        );
        ui.label(last);
        if let Some(lag) = stats.lag {
            ui.label(format!("lag {:.0} ms", lag.as_secs_f64() * 1e3))
                .on_hover_text("from the file's last change to the refreshed list");
        }
    });
    ui.horizontal(|ui| {
        let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let summary = format!(
            "{} in {}, {} dropped",
            plural(stats.events, "event", "events"),
            plural(stats.batches, "batch", "batches"),
            plural(stats.dropped, "row", "rows")
        );
        let r = ui.label(RichText::new(summary).color(theme::MUTED).small());
        if let Some(batch) = &stats.last_batch {
            let lines: Vec<String> =
                batch.signals.iter().map(|(s, state)| format!("{}: {}", s.label(), state.describe())).collect();
            r.on_hover_text(format!(
                "last batch: {} events from {} shoppers, folded in in {:.1} ms\n{}",
                batch.events,
                batch.shoppers.len(),
                batch.apply_time.as_secs_f64() * 1e3,
                lines.join("\n")
            ));
        }
        let threshold = cx.wb.session().live.refit_after_percent;
        let drift = format!("drift {:.1} %", live.drift_percent());
        ui.label(RichText::new(drift).color(theme::MUTED).small()).on_hover_text(format!(
            "{} live events since the signals were last fitted, as a share of the events that fit used; {}",
            live.events_since_fit(),
            if threshold > 0.0 {
                format!("a refit starts by itself at {threshold} %")
            } else {
                "automatic refit is off".to_owned()
            }
        ));
        let mut percent = threshold;
        let r = ui
            .add(
                egui::DragValue::new(&mut percent)
                    .range(0.0..=crate::session::MAX_REFIT_AFTER_PERCENT)
                    .speed(0.5)
                    .prefix("auto refit at ")
                    .suffix(" %"),
            )
            .on_hover_text("Refit automatically once the drift reaches this share; 0 = only when you press Refit");
        if r.changed() && percent != threshold {
            cx.commands.push(Command::SetLiveRefitAfter(percent));
        }
        let refitting = live.refitting() || cx.wb.is_running(job::FIT);
        if ui
            .add_enabled(!refitting, egui::Button::new(if refitting { "Refitting…" } else { "Refit" }).small())
            .on_hover_text(
                "Fit every signal again on all events so far (in the background); the result is swapped in when done",
            )
            .clicked()
        {
            cx.commands.push(Command::RefitLive);
        }
    });
}
