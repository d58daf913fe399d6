//! Asking before a save replaces a file that exists: "Replace" carries the save out (the
//! old file is replaced whole, atomically), "Keep the file" writes nothing.

use std::path::PathBuf;

use super::command::Command;

/// A save waiting for the user's answer, and the existing files it would replace.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplacePrompt {
    /// The save.
    pub command: Command,
    /// The files that exist and would be replaced.
    pub files: Vec<PathBuf>,
}

/// What the user answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Carry out the save.
    Replace,
    /// Write nothing.
    Keep,
}

impl ReplacePrompt {
    /// A prompt when `command` would replace a file that exists (or the file a link points
    /// to), else the command itself, to carry out now. A folder or a device at the path is
    /// not asked about: the write refuses it, naming what it is.
    pub fn check(command: Command) -> Result<Command, ReplacePrompt> {
        let files: Vec<PathBuf> = command
            .writes()
            .into_iter()
            .filter(|p| p.metadata().is_ok_and(|m| m.is_file()))
            .collect();
        if files.is_empty() {
            Ok(command)
        } else {
            Err(ReplacePrompt { command, files })
        }
    }

    /// The question, as a modal window over the app; the answer once given (Escape or a
    /// click outside keeps the file).
    pub fn show(&self, ctx: &egui::Context) -> Option<Answer> {
        let mut answer = None;
        let modal = egui::Modal::new(egui::Id::unique("elbo-lab replace existing file")).show(ctx, |ui| {
            // Narrow enough for the smallest window at the largest zoom (a path wraps).
            let room = ui.ctx().content_rect().width() - 48.0;
            ui.set_max_width(room.clamp(160.0, 560.0));
            let (title, what) = match self.files.len() {
                1 => ("Replace the existing file?", "It"),
                _ => ("Replace the existing files?", "They"),
            };
            ui.heading(title);
            // The answer first: on the smallest window at the largest zoom the text below
            // may run past the bottom edge, the buttons never do.
            ui.horizontal(|ui| {
                if ui
                    .button("Replace")
                    .on_hover_text("Write the new file in place of the existing one")
                    .clicked()
                {
                    answer = Some(Answer::Replace);
                }
                if ui
                    .button("Keep the file")
                    .on_hover_text("Cancel the save: the existing file stays as it is (Escape)")
                    .clicked()
                {
                    answer = Some(Answer::Keep);
                }
            });
            ui.add_space(4.0);
            for f in &self.files {
                ui.add(egui::Label::new(egui::RichText::new(f.display().to_string()).monospace()).wrap());
            }
            ui.label(format!(
                "{what} will be replaced whole once the new file is complete; \"Keep the file\" writes nothing."
            ));
        });
        if answer.is_none() && modal.should_close() {
            answer = Some(Answer::Keep);
        }
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_save_onto_an_existing_file_asks() {
        let dir = tempfile::tempdir().expect("temp dir");
        let there = dir.path().join("scene.json");
        std::fs::write(&there, "{}").expect("write");
        let fresh = dir.path().join("new.json");
        assert_eq!(
            ReplacePrompt::check(Command::SaveScene(fresh.clone())),
            Ok(Command::SaveScene(fresh))
        );
        assert_eq!(
            ReplacePrompt::check(Command::SaveScene(there.clone())),
            Err(ReplacePrompt {
                command: Command::SaveScene(there.clone()),
                files: vec![there]
            })
        );
        // Commands that write nothing never ask.
        assert_eq!(
            ReplacePrompt::check(Command::StepBack),
            Ok(Command::StepBack)
        );
        // Weights: the networks' files that exist in the folder.
        let eps = dir.path().join("eps.safetensors");
        std::fs::write(&eps, "x").expect("write");
        let asked =
            ReplacePrompt::check(Command::SaveWeights(dir.path().to_path_buf())).expect_err("asks");
        assert_eq!(asked.files, vec![eps]);
    }
}
