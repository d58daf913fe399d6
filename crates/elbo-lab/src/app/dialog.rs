//! Native file dialogs: one per [`FileRequest`], each answering with the command that uses
//! the file. They run on a thread of their own (see `App::open_dialog`); where no dialog
//! can open (no desktop portal), every one of them has a path field and drag and drop
//! beside it.

use super::command::{Command, ExportKind, FileRequest};
use super::export;

/// Ask the user for the file or folder `request` needs (blocking); the command to carry
/// out with it, or None when the dialog was cancelled. A save dialog asks itself before it
/// returns an existing file, so its saves are not asked about again.
pub fn pick(request: FileRequest) -> Option<Command> {
    let saves = request.saves();
    let command = pick_unconfirmed(request)?;
    Some(if saves {
        Command::Confirmed(Box::new(command))
    } else {
        command
    })
}

fn pick_unconfirmed(request: FileRequest) -> Option<Command> {
    let dialog = rfd::FileDialog::new();
    match request {
        FileRequest::LoadData => dialog
            .set_title("Load data: mixture JSON or CSV of points")
            .add_filter("data", &["json", "csv", "txt"])
            .pick_file()
            .map(Command::LoadData),
        FileRequest::LoadSchedule => dialog
            .set_title("Load a schedule: scheduler_config.json or a betas list")
            .pick_file()
            .map(Command::LoadSchedule),
        FileRequest::OverlaySchedule => dialog
            .set_title("Overlay a schedule: scheduler_config.json or a betas list")
            .pick_file()
            .map(Command::OverlaySchedule),
        FileRequest::SaveMixture => dialog
            .set_title("Save the data as mixture JSON")
            .add_filter("mixture JSON", &["json"])
            .set_file_name("mixture.json")
            .save_file()
            .map(Command::SaveMixture),
        FileRequest::Weights(true) => dialog
            .set_title("Load weights: a folder with x0/eps/score.safetensors")
            .pick_folder()
            .map(Command::LoadWeights),
        FileRequest::Weights(false) => dialog
            .set_title("Save weights into a folder")
            .pick_folder()
            .map(Command::SaveWeights),
        FileRequest::Export(kind) => dialog
            .set_file_name(format!("elbo-lab.{}", kind.extension()))
            .save_file()
            .map(|p| match kind {
                ExportKind::Csv => Command::ExportCsv(p),
                ExportKind::Json => Command::ExportJson(p),
                ExportKind::Png => Command::Screenshot(p),
            }),
        FileRequest::Scene(true) => dialog
            .add_filter("scene", &["json"])
            .set_title("Open a scene")
            .pick_file()
            .map(Command::OpenScene),
        FileRequest::Scene(false) => dialog
            .add_filter("scene", &["json"])
            .set_title("Save the scene")
            .set_file_name("scene.json")
            .save_file()
            .map(Command::SaveScene),
        FileRequest::ExportPlot(request) => dialog
            .set_title("Export for slides")
            .set_file_name(export::suggested_name(&request))
            .save_file()
            .map(|p| Command::ExportPlot(request.with_path(p))),
        FileRequest::SaveComparison(format) => dialog
            .set_title("Save the schedule comparison")
            .set_file_name(format!("elbo-lab-comparison.{}", format.extension()))
            .save_file()
            .map(|p| Command::SaveComparison(p, format)),
    }
}
