//! The "Export for slides" window: the form, the progress of a running export and its
//! Cancel button.

use std::path::PathBuf;

use super::super::command::{Command, FileRequest};
use super::super::model::{Model, StatusLine};
use super::super::settings::View;
use super::capture::plots_on_screen;
use super::request::{DELAY_RANGE, ExportRequest, GifRequest, MAX_FRAMES, PngRequest, SCALES};
use super::{ExportProgress, ExportState, Stage};

impl ExportState {
    /// The export dialog (File > Export plot for slides...).
    pub(in crate::app) fn export_window(
        &mut self,
        ctx: &egui::Context,
        model: &mut Model,
    ) -> Vec<Command> {
        let mut commands = Vec::new();
        if !self.open {
            return commands;
        }
        let view = model.settings.view;
        let steps = model.steps();
        let progress = self.progress();
        let status = model.notes.status.clone();
        let on_screen = plots_on_screen(ctx, view);
        let s = &mut *self;
        if s.from == 0 || s.from > steps || s.to == 0 || s.to > steps {
            // First use or a new T: the whole process, in its own direction.
            (s.from, s.to) = if view == View::Reverse {
                (steps, 1)
            } else {
                (1, steps)
            };
        }
        if !on_screen.iter().any(|(n, _)| *n == s.plot)
            && let Some((first, _)) = on_screen.first()
        {
            s.plot = first.clone();
        }
        if s.job
            .as_ref()
            .is_some_and(|j| matches!(j.stage, Stage::Scaling { .. } | Stage::Capturing { .. }))
        {
            // While frames are laid out and captured the dialog must not cover the plot
            // (nor fade in or out over it): the progress shows in a strip over the
            // timeline, which is never part of a plot, and not in the captured frame.
            let captured = s
                .job
                .as_ref()
                .is_some_and(|j| j.ready && j.stage == (Stage::Capturing { awaiting: None }));
            if let Some(p) = &progress
                && !captured
            {
                egui::Area::new(egui::Id::unique("elbo-lab export progress"))
                    .anchor(egui::Align2::LEFT_BOTTOM, egui::vec2(8.0, -8.0))
                    .order(egui::Order::Foreground)
                    .fade_in(false)
                    .show(ctx, |ui| {
                        egui::Frame::popup(ui.style()).show(ui, |ui| {
                            ui.horizontal(|ui| progress_row(ui, p, &mut commands));
                        });
                    });
            }
            return commands;
        }
        let mut open = true;
        egui::Window::new("Export for slides")
            .open(&mut open)
            .pivot(egui::Align2::RIGHT_BOTTOM)
            .default_pos(ctx.content_rect().right_bottom() - egui::vec2(16.0, 48.0))
            .collapsible(false)
            .resizable(false)
            .show(ctx, |ui| {
                s.form(
                    ui,
                    view,
                    steps,
                    &on_screen,
                    progress.as_ref(),
                    status,
                    &mut commands,
                )
            });
        if !open {
            commands.push(Command::ShowExportDialog(false));
        }
        commands
    }
}

/// An export's stage, its progress bar and a Cancel button.
fn progress_row(ui: &mut egui::Ui, p: &ExportProgress, commands: &mut Vec<Command>) {
    ui.label(&p.stage);
    ui.add(
        egui::ProgressBar::new(p.done as f32 / p.total.max(1) as f32)
            .desired_width(160.0)
            .text(format!("{} / {} frames", p.done, p.total)),
    )
    .on_hover_text("Frames captured so far");
    if ui
        .button("Cancel")
        .on_hover_text("Stop the export; the unfinished file is removed")
        .clicked()
    {
        commands.push(Command::CancelExport);
    }
}

impl ExportState {
    #[allow(clippy::too_many_arguments)]
    fn form(
        &mut self,
        ui: &mut egui::Ui,
        view: View,
        steps: usize,
        on_screen: &[(String, String)],
        progress: Option<&ExportProgress>,
        status: Option<StatusLine>,
        commands: &mut Vec<Command>,
    ) {
        if let Some(p) = progress {
            progress_row(ui, p, commands);
            return;
        }
        ui.horizontal(|ui| {
            ui.radio_value(&mut self.gif, false, "PNG of one plot")
                .on_hover_text("One plot with its axes and labels, as a PNG image");
            ui.radio_value(&mut self.gif, true, "Animated GIF over t")
                .on_hover_text(
                    "The Forward or Reverse tab stepped over a range of t, one frame per t, looping",
                );
        });
        if on_screen.is_empty() {
            ui.label("No plot of this tab is on screen.");
            return;
        }
        let selected = on_screen
            .iter()
            .find(|(n, _)| *n == self.plot)
            .map_or("", |(_, l)| l.as_str());
        egui::ComboBox::from_label("Plot")
            .selected_text(selected)
            .show_ui(ui, |ui| {
                for (name, label) in on_screen {
                    ui.selectable_value(&mut self.plot, name.clone(), label);
                }
            })
            .response
            .on_hover_text("Which plot of the open tab to export (only those on screen)");
        ui.horizontal(|ui| {
            ui.label("Scale:");
            for s in SCALES {
                ui.radio_value(&mut self.scale, s, format!("{s}x")).on_hover_text(
                    "Pixels per point times this: the window is redrawn at that zoom for the capture, so text and lines stay sharp",
                );
            }
        });
        if self.gif {
            if !matches!(view, View::Forward | View::Reverse) {
                ui.label("A GIF shows the Forward or the Reverse tab:");
                ui.horizontal(|ui| {
                    for v in [View::Forward, View::Reverse] {
                        // Not the tab's own name: the tab row has that button.
                        if ui
                            .button(format!("Go to {}", v.label()))
                            .on_hover_text("Open this tab")
                            .clicked()
                        {
                            commands.push(Command::SetView(v));
                        }
                    }
                });
                return;
            }
            ui.horizontal(|ui| {
                ui.label("t from");
                ui.add(egui::DragValue::new(&mut self.from).range(1..=steps))
                    .on_hover_text(format!("The first frame's t, 1..={steps}"));
                ui.label("to");
                ui.add(egui::DragValue::new(&mut self.to).range(1..=steps))
                    .on_hover_text(format!(
                        "The last frame's t, 1..={steps}; below 'from' the GIF runs t down, as the reverse process does"
                    ));
            });
            ui.horizontal(|ui| {
                ui.label("Frames");
                ui.add(egui::DragValue::new(&mut self.frames).range(1..=MAX_FRAMES))
                    .on_hover_text(format!(
                        "How many frames, 1..={MAX_FRAMES}; t is spread evenly over the range"
                    ));
                ui.label("Delay (ms)");
                ui.add(egui::DragValue::new(&mut self.delay_ms).range(DELAY_RANGE))
                    .on_hover_text(format!(
                        "Time each frame stays, {}..={} ms (100 ms = 10 frames a second)",
                        DELAY_RANGE.start(),
                        DELAY_RANGE.end()
                    ));
            });
        }
        let path = if self.gif {
            &mut self.gif_path
        } else {
            &mut self.png_path
        };
        let label = ui.label("File:");
        ui.add(egui::TextEdit::singleline(path).desired_width(320.0))
            .labelled_by(label.id)
            .on_hover_text("Where to write; no dialog needed. The extension is added if missing");
        let request = if self.gif {
            ExportRequest::Gif(GifRequest {
                path: PathBuf::from(self.gif_path.trim()),
                plot: self.plot.clone(),
                scale: self.scale,
                from: self.from,
                to: self.to,
                frames: self.frames,
                delay_ms: self.delay_ms,
            })
        } else {
            ExportRequest::Png(PngRequest {
                path: PathBuf::from(self.png_path.trim()),
                plot: self.plot.clone(),
                scale: self.scale,
            })
        };
        ui.horizontal(|ui| {
            if ui
                .button("Export")
                .on_hover_text("Capture and write the file; the window redraws while it captures")
                .clicked()
            {
                commands.push(Command::ExportPlot(request.clone()));
            }
            if ui
                .button("Choose file...")
                .on_hover_text("Pick the file in a native save dialog, then export (the typed path works without one)")
                .clicked()
            {
                commands.push(Command::PickFile(FileRequest::ExportPlot(request)));
            }
        });
        if let Some(StatusLine { text, error }) = status {
            let colour = super::super::palette::status_colour(ui, error);
            ui.label(egui::RichText::new(text).color(colour));
        }
    }
}
