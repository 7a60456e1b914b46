//! A `twilio-rotate` process running in the background: its stdout and stderr collected (to
//! search them for tokens), the test hook's `paused at` marker signalled; killed and reaped
//! when dropped, so none outlives its test, even one that panics.

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a process may take to reach its pause marker on a loaded machine.
const MARKER_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) struct Running {
    child: Child,
    marker: mpsc::Receiver<()>,
    /// stdout's reader, then stderr's.
    readers: Vec<JoinHandle<String>>,
}

impl Running {
    /// Spawns `cmd` with both outputs piped.
    pub(crate) fn spawn(mut cmd: Command) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn twilio-rotate");
        let (found, marker) = mpsc::channel();
        let stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let mut stdout = child.stdout.take().expect("stdout");
        let readers = vec![
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = stdout.read_to_string(&mut text);
                text
            }),
            std::thread::spawn(move || {
                let mut text = String::new();
                for line in stderr.lines().map_while(Result::ok) {
                    if line.contains("twilio-rotate: paused at") {
                        let _ = found.send(());
                    }
                    text.push_str(&line);
                    text.push('\n');
                }
                text
            }),
        ];
        Self {
            child,
            marker,
            readers,
        }
    }

    /// Blocks until the process prints its pause marker; false if it exited first (or took
    /// longer than a minute).
    pub(crate) fn wait_for_marker(&self) -> bool {
        self.marker.recv_timeout(MARKER_TIMEOUT).is_ok()
    }

    /// Waits for the process to end on its own: its exit code, stdout and stderr.
    pub(crate) fn wait(mut self) -> (Option<i32>, String, String) {
        let status = self.child.wait().expect("wait for twilio-rotate");
        let [stdout, stderr] = self.outputs();
        (status.code(), stdout, stderr)
    }

    /// SIGKILL (`Child::kill` on Unix); returns what it printed.
    pub(crate) fn kill(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.outputs().concat()
    }

    fn outputs(&mut self) -> [String; 2] {
        let mut texts = self.readers.drain(..).map(|r| r.join().unwrap_or_default());
        [
            texts.next().unwrap_or_default(),
            texts.next().unwrap_or_default(),
        ]
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
