//! `crm-tui [--connect ADDR[,ADDR...]]... [--user U]`: the operators' console.

use clap::Parser;
use crm_tui::app::{App, Lane, Outgoing};
use crm_tui::net::Net;
use crm_tui::{keys, ui};
use ratatui::crossterm::event::{self, Event, KeyEventKind};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(
    name = "crm-tui",
    version,
    about = "The CRM operators' console (password: CRM_PASSWORD or the login screen)"
)]
struct Cli {
    /// Server addresses, tried in order (a cluster's leader is preferred); repeat the option
    /// or separate with commas.
    #[arg(long, default_value = "127.0.0.1:7379")]
    connect: Vec<String>,
    #[arg(long, default_value = "admin")]
    user: String,
}

fn dispatch(net: &Net, outgoing: Outgoing) {
    for (lane, request) in outgoing {
        match lane {
            Lane::Main => net.main.send(request),
            Lane::Long => net.long.send(request),
            Lane::Feed => net.feed.send(request),
        }
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let net = Net::start();
    let mut app = App::new(&cli.connect.join(","), &cli.user);
    if let Ok(password) = std::env::var("CRM_PASSWORD") {
        app.set_password(password);
        let outgoing = app.submit_login();
        dispatch(&net, outgoing);
    }
    // `ratatui::init` also installs a panic hook that restores the terminal first.
    let mut terminal = ratatui::init();
    let result = run(&mut terminal, &mut app, &net);
    ratatui::restore();
    result
}

fn run(terminal: &mut ratatui::DefaultTerminal, app: &mut App, net: &Net) -> anyhow::Result<()> {
    let tick = Duration::from_millis(100);
    let mut last_tick = Instant::now();
    while app.running {
        let size = terminal.size()?;
        let outgoing = app.resize(size.width, size.height);
        dispatch(net, outgoing);
        terminal.draw(|frame| ui::render(frame, app))?;
        let timeout = tick.saturating_sub(last_tick.elapsed());
        if event::poll(timeout)? {
            if let Event::Key(key) = event::read()? {
                if key.kind == KeyEventKind::Press {
                    if let Some(action) = keys::map(app, key) {
                        let outgoing = app.apply(action);
                        dispatch(net, outgoing);
                    }
                }
            }
        }
        while let Ok(response) = net.responses.try_recv() {
            let outgoing = app.on_response(response);
            dispatch(net, outgoing);
        }
        if last_tick.elapsed() >= tick {
            let outgoing = app.on_tick();
            dispatch(net, outgoing);
            last_tick = Instant::now();
        }
    }
    Ok(())
}
