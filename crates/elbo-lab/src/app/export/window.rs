//! The "Export for slides" window: the form, the progress of a running export (frames done
//! of all, a bar) and its Cancel button. The export draws off screen: nothing of the window
//! changes while it runs.

use std::path::PathBuf;

use super::super::command::{Command, FileRequest};
use super::super::model::{Model, StatusLine};
use super::super::settings::View;
use super::super::views::tab::varies_with_t;
use super::capture::plots_on_screen;
use super::request::{DELAY_RANGE, ExportRequest, GifRequest, MAX_FRAMES, PngRequest, SCALES};
use super::{ExportProgress, ExportState};

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
        // The open tab's plots on screen; for a GIF only those that change with t.
        let gif = self.gif;
        let on_screen: Vec<(String, String)> = plots_on_screen(ctx, view)
            .into_iter()
            .filter(|(name, _)| !gif || varies_with_t(name))
            .collect();
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
    .on_hover_text("Frames drawn so far (off screen: the window is not touched)");
    if ui
        .button("Cancel")
        .on_hover_text("Stop the export; the unfinished file is removed")
        .clicked()
    {
        commands.push(Command::CancelExport);
    }
}

impl ExportState {
    fn form(
        &mut self,
        ui: &mut egui::Ui,
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
                    "A plot that changes with t, drawn for each t of a range, one frame per t, looping, titled with its t",
                );
        });
        if self.gif && on_screen.is_empty() {
            ui.label("No plot of this tab changes with t. A GIF over t shows the density of q(x_t) (Forward), the samples at t (Reverse) or the fields at t (Parameterisations):");
            ui.horizontal(|ui| {
                for v in [View::Forward, View::Reverse, View::Params] {
                    // Not the tab's own name: the tab row has that button.
                    if ui
                        .button(format!("Go to {}", v.short_label()))
                        .on_hover_text(format!("Open the {} tab", v.label()))
                        .clicked()
                    {
                        commands.push(Command::SetView(v));
                    }
                }
            });
            return;
        }
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
            .on_hover_text("Which plot of the open tab to export (those on screen; for a GIF those that change with t). The export carries its title and legend");
        ui.horizontal(|ui| {
            ui.label("Scale:");
            for s in SCALES {
                ui.radio_value(&mut self.scale, s, format!("{s}x")).on_hover_text(
                    "Pixels per point of the image: the plot is drawn off screen at that resolution (never upsampled), so text and lines stay sharp; the window does not change",
                );
            }
        });
        if self.gif {
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
                .on_hover_text("Draw the plot off screen and write the file; the window stays as it is")
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
