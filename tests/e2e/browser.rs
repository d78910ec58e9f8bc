//! The supervisor's page in a real browser: headless Chromium driven over WebDriver (Debian's
//! `chromium` and `chromium-driver`, one chromedriver per test) against the real `dockd`. Signing
//! in through the form, tiles that update live while the page stays open, a worker's charts, the
//! technician's refusals, and screenshots of every page on a phone and a desktop screen, saved
//! under the test output folder for people to look at. It must never reach into the daemon's
//! memory, and never leave a chromedriver or Chromium running after a test.

use std::future::Future;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dockd::emulator::{Faults, dock_for, dock_until_drained};
use dockd::transport::LinkAddr;
use serde_json::{Value, json};
use thirtyfour::prelude::*;
use tokio_util::sync::CancellationToken;

use crate::spine::{fleet, shift};
use crate::support::{
    Dock, TEST_PASSWORD, TEST_USER, TestDir, add_user, form_on, free_port, wait_for,
};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "chromedriver";
/// A phone (iPhone X-sized) and a laptop screen, in CSS pixels.
const PHONE: (u32, u32) = (375, 812);
const DESKTOP: (u32, u32) = (1440, 900);
/// How long a page, a sign-in or a live update may take before the test fails.
const PAGE_LIMIT: Duration = Duration::from_secs(20);

/// The folder the screenshots go to: the test output folder Cargo gives integration tests.
fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A chromedriver child process on a loopback port, in a process group of its own so that the
/// Chromium it starts goes with it. Killed (group and all) on drop, even when a test panics.
struct ChromeDriver {
    child: Child,
    port: u16,
}

impl ChromeDriver {
    /// Starts chromedriver on a free port. The port is picked before chromedriver binds it, so
    /// another test may take it in between: chromedriver then exits saying so, and it is started
    /// again on another port (a few times); any other early exit fails with its log.
    fn start(log: &Path) -> Self {
        for _ in 0..5 {
            if let Some(driver) = Self::try_start(log) {
                return driver;
            }
        }
        panic!(
            "chromedriver could not bind a port five times:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }

    /// `None` when chromedriver exited because its port was taken.
    fn try_start(log: &Path) -> Option<Self> {
        use std::os::unix::process::CommandExt;
        let port = free_port();
        let log_file = std::fs::File::create(log).unwrap();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .process_group(0)
            .spawn()
            .expect(
                "start chromedriver (Debian package chromium-driver; tests/run.sh installs it)",
            );
        let mut driver = Self { child, port };
        let listening = wait_for("chromedriver to listen", PAGE_LIMIT, || {
            if let Ok(Some(status)) = driver.child.try_wait() {
                let said = std::fs::read_to_string(log).unwrap_or_default();
                let port_taken = said.contains("bind()") || said.contains("Address already in use");
                assert!(
                    port_taken,
                    "chromedriver exited early with {status}:\n{said}"
                );
                return Some(false);
            }
            TcpStream::connect(("127.0.0.1", port)).ok().map(|_| true)
        });
        listening.then_some(driver)
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // The whole group: chromedriver and any Chromium it left behind.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One headless Chromium session on a fresh profile, looking at one dock.
///
/// Fields drop in order: an unquit session is quit by thirtyfour's own drop (closing Chromium),
/// then chromedriver is killed, then the profile folder is removed.
struct Browser {
    driver: Option<WebDriver>,
    _server: ChromeDriver,
    _profile: TestDir,
    base: String,
}

impl Browser {
    async fn open(dock: &Dock) -> Self {
        let profile = TestDir::new("chromium");
        let server = ChromeDriver::start(&profile.join("chromedriver.log"));
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary(CHROMIUM).unwrap();
        for arg in [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
            &format!("--window-size={},{}", DESKTOP.0, DESKTOP.1),
            &format!("--user-data-dir={}", profile.join("profile").display()),
        ] {
            caps.add_arg(arg).unwrap();
        }
        let driver = tokio::time::timeout(PAGE_LIMIT, WebDriver::new(server.url(), caps))
            .await
            .expect("Chromium to start within the limit")
            .expect("a WebDriver session");
        let browser = Self {
            driver: Some(driver),
            _server: server,
            _profile: profile,
            base: format!("http://{}", dock.web),
        };
        // `--window-size` is the window's, and new headless mode keeps room for a toolbar in it.
        browser.set_viewport(DESKTOP).await;
        browser
    }

    fn driver(&self) -> &WebDriver {
        self.driver.as_ref().expect("the session is open")
    }

    /// Closes the session and Chromium, and says so if that failed.
    async fn quit(mut self) {
        if let Some(driver) = self.driver.take() {
            driver.quit().await.expect("quit the browser session");
        }
    }

    async fn goto(&self, path: &str) {
        self.driver()
            .goto(format!("{}{path}", self.base))
            .await
            .unwrap();
        self.until("the page to load", |b| async move {
            (b.js("return document.readyState").await == "complete").then_some(())
        })
        .await;
    }

    /// The path (and query) the browser is on.
    async fn path(&self) -> String {
        let url = self.driver().current_url().await.unwrap();
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    async fn js(&self, script: &str) -> Value {
        self.js_with(script, Vec::new()).await
    }

    async fn js_with(&self, script: &str, args: Vec<Value>) -> Value {
        self.driver()
            .execute(script, args)
            .await
            .unwrap()
            .json()
            .clone()
    }

    /// `document.querySelector(css).textContent`, or `None` if there is no such element.
    async fn text_of(&self, css: &str) -> Option<String> {
        let found = self
            .js_with(
                "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
                vec![json!(css)],
            )
            .await;
        found.as_str().map(|s| s.trim().to_owned())
    }

    /// Polls `probe` every 50 ms until it returns `Some`, or fails naming `what` after
    /// [`PAGE_LIMIT`].
    async fn until<'a, T, F, Fut>(&'a self, what: &str, mut probe: F) -> T
    where
        F: FnMut(&'a Self) -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let start = Instant::now();
        loop {
            if let Some(value) = probe(self).await {
                return value;
            }
            if start.elapsed() > PAGE_LIMIT {
                let path = self.path().await;
                let text = self.js("return document.body.innerText").await;
                panic!("timed out after {PAGE_LIMIT:?} waiting for {what}; on {path}:\n{text}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Signs in through the form on the page the browser is on, as a person would: types the
    /// name and password and presses the button; waits until the browser has left `/login`.
    async fn sign_in_with_form(&self, name: &str, password: &str) {
        assert!(
            self.path().await.starts_with("/login"),
            "not on the sign-in page"
        );
        let driver = self.driver();
        driver
            .find(By::Id("username"))
            .await
            .unwrap()
            .send_keys(name)
            .await
            .unwrap();
        driver
            .find(By::Id("password"))
            .await
            .unwrap()
            .send_keys(password)
            .await
            .unwrap();
        driver
            .find(By::Css("form.login-form button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        self.until("the sign-in to lead away from /login", |b| async move {
            let path = b.path().await;
            let ready = b.js("return document.readyState").await == "complete";
            (!path.starts_with("/login") && ready).then_some(())
        })
        .await;
    }

    /// Sets the window so that the page's viewport is exactly `width` × `height` CSS pixels. The
    /// browser applies a new window size asynchronously (on a loaded machine, after the call
    /// returns), so this waits for the viewport to settle and corrects the window by whatever it
    /// adds around the page (nothing, in new headless mode) until the viewport is exact.
    async fn set_viewport(&self, (width, height): (u32, u32)) {
        let driver = self.driver();
        let mut outer = (width, height);
        driver
            .set_window_rect(0, 0, outer.0, outer.1)
            .await
            .unwrap();
        let start = Instant::now();
        loop {
            let inner = self.viewport().await;
            if inner == (width, height) {
                return;
            }
            let rect = driver.get_window_rect().await.unwrap();
            let applied = (rect.width as u32, rect.height as u32);
            if applied == outer {
                // The window took the size asked for: correct by what it adds around the page.
                outer = (
                    (outer.0 + width).saturating_sub(inner.0),
                    (outer.1 + height).saturating_sub(inner.1),
                );
                driver
                    .set_window_rect(0, 0, outer.0, outer.1)
                    .await
                    .unwrap();
            }
            assert!(
                start.elapsed() < PAGE_LIMIT,
                "viewport stayed {inner:?} instead of {:?}",
                (width, height)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn viewport(&self) -> (u32, u32) {
        let size = self
            .js("return [window.innerWidth, window.innerHeight]")
            .await;
        let dim = |i: usize| u32::try_from(size[i].as_u64().unwrap()).unwrap();
        (dim(0), dim(1))
    }

    /// Saves what the browser shows as `name` in the screenshot folder; checks it is a real
    /// picture (a PNG over 5 kB, not a blank page).
    async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.driver().screenshot_as_png().await.unwrap();
        let path = screenshot_dir().join(name);
        std::fs::write(&path, &png).unwrap();
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{name} is a PNG");
        assert!(size > 5_000, "{name} is only {size} bytes: a blank page?");
        path
    }
}

/// A dock that pulled one worker's two-hour shift and stored its analysis.
async fn analysed_dock(name: &str, seed: u64) -> Dock {
    analysed_dock_with(name, seed, "").await
}

/// Like [`analysed_dock`], with `extra` tables in the dock's config.
async fn analysed_dock_with(name: &str, seed: u64, extra: &str) -> Dock {
    let dock = Dock::start_with_tables(name, extra);
    let addr = LinkAddr::Unix(dock.socket.clone());
    let mut wearable = tokio::task::spawn_blocking(move || fleet(1, seed, shift(2, 30)).remove(0))
        .await
        .unwrap();
    dock_until_drained(
        &mut wearable,
        &addr,
        &Faults::default(),
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    wait_for("a shift report", Duration::from_secs(60), || {
        (dock.count("SELECT count(*) FROM shift_report") > 0).then_some(())
    });
    dock
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_signs_in_and_watches_the_dock_tiles_update_live_as_wearables_dock() {
    let started = Instant::now();
    let dock = Dock::start("browser-live");
    let browser = Browser::open(&dock).await;

    // A stranger is sent to the sign-in form.
    browser.goto("/").await;
    assert_eq!(browser.path().await, "/login");
    assert_eq!(browser.text_of("h1").await.as_deref(), Some("Sign in"));
    browser.sign_in_with_form(TEST_USER, TEST_PASSWORD).await;
    assert_eq!(browser.path().await, "/");
    let who = browser.text_of(".account .who").await.unwrap_or_default();
    assert!(who.contains(TEST_USER), "the header names the user: {who}");

    // The page subscribes to the event stream; nothing is docked yet.
    browser
        .until("the page to go live", |b| async move {
            (b.text_of("#live").await.as_deref() == Some("Live")).then_some(())
        })
        .await;
    let mut wearable = tokio::task::spawn_blocking(|| fleet(1, 4242, shift(1, 20)).remove(0))
        .await
        .unwrap();
    let serial = wearable.serial().to_owned();
    let tiles = browser.text_of("#slots").await.unwrap();
    assert!(!tiles.contains(&serial), "not docked yet: {tiles}");
    // A mark on this very document: a reload would wipe it.
    browser.js("window.dockdTestMark = 'same page'").await;

    // Docked only now, with the page open; it stays in the slot, charging, until the test ends.
    let addr = LinkAddr::Unix(dock.socket.clone());
    let cancel = CancellationToken::new();
    let docking = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            dock_for(
                &mut wearable,
                &addr,
                &Faults::default(),
                Duration::from_secs(120),
                &cancel,
            )
            .await
        })
    };
    let tile_state = "const tile = [...document.querySelectorAll('#slots li.tile')]\
                      .find((li) => li.querySelector('.serial strong')?.textContent === arguments[0]);\
                      return tile ? [tile.dataset.state, tile.querySelector('.state').textContent] : null;";
    // Every state the tile passes through, as the page showed it (for the test's output).
    let seen = std::cell::RefCell::new(Vec::<String>::new());
    let done_text = browser
        .until("the wearable's tile to show it done", |b| {
            let (seen, serial) = (&seen, serial.clone());
            async move {
                let state = b.js_with(tile_state, vec![json!(serial)]).await;
                let (state, text) = (state[0].as_str()?.to_owned(), state[1].as_str()?.to_owned());
                let mut seen = seen.borrow_mut();
                if seen.last() != Some(&state) {
                    seen.push(state.clone());
                }
                (state == "done").then_some(text)
            }
        })
        .await;
    let seen = seen.into_inner();
    println!("tile states seen live: {seen:?}; done text {done_text:?}");
    assert!(done_text.starts_with("Done"), "{done_text}");
    assert_eq!(
        browser.js("return window.dockdTestMark ?? null").await,
        "same page",
        "the tile changed without a reload"
    );
    let tile_text = browser.text_of("#slots").await.unwrap();
    assert!(tile_text.contains("Stored on dock"), "{tile_text}");
    assert!(
        tile_text.contains("readings"),
        "a supervisor sees the counts: {tile_text}"
    );
    let shot = browser.screenshot("live-dock-done.png").await;
    println!("screenshot {}", shot.display());

    cancel.cancel();
    docking.await.unwrap().unwrap();
    browser.quit().await;
    println!("live test took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_opens_a_worker_and_reads_a_chart() {
    let started = Instant::now();
    let dock = analysed_dock("browser-worker", 5151).await;
    let browser = Browser::open(&dock).await;

    // Straight to the overview: sign-in first, then back where the supervisor was going.
    browser.goto("/overview").await;
    assert!(browser.path().await.starts_with("/login?next="));
    browser.sign_in_with_form(TEST_USER, TEST_PASSWORD).await;
    assert_eq!(browser.path().await, "/overview");

    let link = browser
        .driver()
        .find(By::Css("main a[href^='/workers/']"))
        .await
        .expect("a link to a worker on the overview");
    let label = link.text().await.unwrap();
    assert!(label.starts_with("W-"), "a pseudonym: {label}");
    link.click().await.unwrap();
    browser
        .until("the worker page", |b| async move {
            let on_worker = b.path().await.starts_with("/workers/");
            let ready = b.js("return document.readyState").await == "complete";
            (on_worker && ready).then_some(())
        })
        .await;
    let heading = browser.text_of("main h1").await.unwrap_or_default();
    assert!(heading.contains(&label), "the page is {label}'s: {heading}");

    // Every chart is drawn (has a size on screen) and says what it charts in its <title>.
    let charts = browser
        .js("return [...document.querySelectorAll('svg.an-chart')].map((svg) => {\
               const box = svg.getBoundingClientRect();\
               return [svg.querySelector(':scope > title')?.textContent ?? '', box.width, box.height];\
             })")
        .await;
    let charts = charts.as_array().unwrap();
    assert!(!charts.is_empty(), "the worker page draws charts");
    for chart in charts {
        let title = chart[0].as_str().unwrap();
        assert!(
            title.split_whitespace().count() >= 3,
            "a chart's title names what it charts in words: {title:?}"
        );
        assert!(
            chart[1].as_f64().unwrap() > 100.0 && chart[2].as_f64().unwrap() > 20.0,
            "{title:?} is drawn: {chart}"
        );
    }
    let titles: Vec<&str> = charts.iter().map(|c| c[0].as_str().unwrap()).collect();
    assert!(
        titles.contains(&"Bends per hour in each shift, with its risk level"),
        "{titles:?}"
    );
    let risk = browser.text_of(".an-risk").await.unwrap_or_default();
    assert!(
        ["Low risk", "Medium risk", "High risk"].contains(&risk.as_str()),
        "a risk level in words: {risk:?}"
    );
    let text = browser.js("return document.body.innerText").await;
    assert!(!text.as_str().unwrap().contains("B-1001"), "no badge tag");
    let shot = browser.screenshot("worker-chart.png").await;
    println!(
        "charts {titles:?}, risk {risk:?}; screenshot {}",
        shot.display()
    );

    browser.quit().await;
    println!("worker test took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_technician_sees_device_health_on_the_live_tiles_and_cannot_reach_worker_pages() {
    let started = Instant::now();
    let dock = Dock::start("browser-technician");
    add_user(
        &dock.config,
        "tech",
        "technician",
        "a long technician password",
    );
    let browser = Browser::open(&dock).await;
    browser.goto("/").await;
    browser
        .sign_in_with_form("tech", "a long technician password")
        .await;
    assert_eq!(browser.path().await, "/");
    assert!(
        browser.text_of("#slots").await.is_some(),
        "the dock's tiles"
    );
    // A wearable docks while the page is live: its tile shows device health, no counts.
    browser
        .until("the page to go live", |b| async move {
            (b.text_of("#live").await.as_deref() == Some("Live")).then_some(())
        })
        .await;
    let mut wearable = tokio::task::spawn_blocking(|| fleet(1, 4343, shift(1, 20)).remove(0))
        .await
        .unwrap();
    dock_until_drained(
        &mut wearable,
        &LinkAddr::Unix(dock.socket.clone()),
        &Faults::default(),
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    let serial = wearable.serial().to_owned();
    let tiles = browser
        .until("the live tile of the docked wearable", |b| {
            let serial = serial.clone();
            async move {
                let text = b.text_of("#slots").await?;
                (text.contains(&serial) && text.contains("Stored on dock")).then_some(text)
            }
        })
        .await;
    assert!(
        !tiles.contains("reading") && !tiles.contains("alert"),
        "{tiles}"
    );

    for path in ["/overview", "/workers/1", "/tasks"] {
        browser.goto(path).await;
        assert_eq!(
            browser.text_of("main h1").await.as_deref(),
            Some("Not available to your role"),
            "{path}"
        );
        let shown = browser
            .js("return [document.querySelectorAll('table, svg').length, document.body.innerText]")
            .await;
        assert_eq!(shown[0], 0, "no table or chart on {path}");
        assert!(
            shown[1]
                .as_str()
                .unwrap()
                .contains("only supervisors and admins"),
            "{path}: {shown}"
        );
    }
    browser.quit().await;
    println!("technician test took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_changes_the_roster_and_an_admin_pushes_a_threshold_that_reaches_the_docked_wearable()
 {
    let started = Instant::now();
    let dock = Dock::start_refreshing("browser-roster", 1);
    let mut wearable = tokio::task::spawn_blocking(|| fleet(1, 8383, shift(1, 10)).remove(0))
        .await
        .unwrap();
    let serial = wearable.serial().to_owned();
    let addr = LinkAddr::Unix(dock.socket.clone());
    let cancel = CancellationToken::new();
    let docking = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            let end = dock_for(
                &mut wearable,
                &addr,
                &Faults::default(),
                Duration::from_secs(180),
                &cancel,
            )
            .await;
            (wearable, end)
        })
    };
    wait_for("the wearable to be pulled", Duration::from_secs(30), || {
        let status = dock.status_json();
        (status["wearables"].as_array()?.len() == 1).then_some(())
    });

    let browser = Browser::open(&dock).await;
    browser.goto("/roster").await;
    browser.sign_in_with_form(TEST_USER, TEST_PASSWORD).await;
    assert_eq!(browser.path().await, "/roster");
    let driver = browser.driver();

    // Add a worker with a local display name, as a supervisor types it.
    driver
        .find(By::Id("ro-new-badge"))
        .await
        .unwrap()
        .send_keys("B-7002")
        .await
        .unwrap();
    driver
        .find(By::Id("ro-new-name"))
        .await
        .unwrap()
        .send_keys("Ana Example")
        .await
        .unwrap();
    driver
        .find(By::Css(
            "section[aria-labelledby='ro-add'] button[type=submit]",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .until("the roster to confirm the new worker", |b| async move {
            let notice = b.text_of("[role=status][data-kind=done]").await?;
            notice.contains("added").then_some(())
        })
        .await;

    // Give the docked wearable to her: pick her in its row and save.
    let row = format!("form:has(input[name=serial][value='{serial}'])");
    let picked = browser
        .js_with(
            "const form = document.querySelector(arguments[0]);\
             const select = form.querySelector('select[name=worker]');\
             const option = [...select.options].find((o) => o.textContent.includes('Ana Example'));\
             if (!option) { return false; }\
             select.value = option.value; return true;",
            vec![json!(row)],
        )
        .await;
    assert_eq!(picked, true, "the wearable's row offers the new worker");
    driver
        .find(By::Css(format!("{row} button[type=submit]")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The page confirms the assignment before anything navigates away (leaving at once could
    // cancel the form's request on a loaded machine).
    browser
        .until("the roster to confirm the assignment", |b| async move {
            let notice = b.text_of("[role=status][data-kind=done]").await?;
            notice.contains("assigned").then_some(())
        })
        .await;
    // The dock sends SET_WORKER within a refresh; reloading shows when the wearable has it. The
    // row's own cells, not its form (whose worker list names her whatever is assigned).
    browser
        .until("the wearable to carry the assignment", |b| {
            let serial = serial.clone();
            async move {
                b.goto("/roster").await;
                let cells = b
                    .js_with(
                        "const th = [...document.querySelectorAll('th[scope=row]')]\
                           .find((th) => th.textContent === arguments[0]);\
                         if (!th) { return null; }\
                         const cell = (label) => th.parentElement\
                           .querySelector(`td[data-label='${label}']`).textContent;\
                         return [cell('Worn by'), cell('Assignment')];",
                        vec![json!(serial)],
                    )
                    .await;
                let cells = cells.as_array()?;
                let (worn_by, applied) = (cells.first()?.as_str()?, cells.get(1)?.as_str()?);
                (worn_by.contains("Ana Example") && applied == "On the wearable").then_some(())
            }
        })
        .await;
    browser.screenshot("roster-assigned.png").await;

    // The dock tile names her (the admin sees workers).
    browser.goto("/").await;
    let tiles = browser
        .until("the tile to name who wears it", |b| async move {
            let text = b.text_of("#slots").await?;
            text.contains("Worn by Ana Example").then_some(text)
        })
        .await;
    assert!(tiles.contains(&serial), "{tiles}");

    // An admin lowers the bend alert to 30°; the wearable gets it and the dock reads it back.
    browser.goto("/settings").await;
    let bend = driver.find(By::Id("bend")).await.unwrap();
    bend.clear().await.unwrap();
    bend.send_keys("30").await.unwrap();
    driver
        .find(By::Css("#thresholds button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .until("the settings page to confirm the save", |b| async move {
            let notice = b.text_of("[role=status][data-kind=done]").await?;
            notice.contains("threshold").then_some(())
        })
        .await;
    browser
        .until("the wearable to confirm the thresholds", |b| {
            let serial = serial.clone();
            async move {
                b.goto("/settings").await;
                let state = b
                    .js_with(
                        "const th = [...document.querySelectorAll('#thresholds th[scope=row]')]\
                           .find((th) => th.textContent === arguments[0]);\
                         return th ? th.parentElement.dataset.state : null;",
                        vec![json!(serial)],
                    )
                    .await;
                (state.as_str()? == "confirmed").then_some(())
            }
        })
        .await;
    browser.screenshot("settings-confirmed.png").await;
    browser.quit().await;

    cancel.cancel();
    let (wearable, end) = docking.await.unwrap();
    end.unwrap();
    assert_eq!(
        wearable.config().bend_alert,
        3000,
        "30° reached the wearable"
    );
    assert_eq!(
        wearable.worker().map(|tag| tag.badge_text()).as_deref(),
        Some("B-7002")
    );
    let log = dock.log();
    assert!(!log.contains("B-7002") && !log.contains("Ana Example"));
    println!("roster and thresholds test took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_a_phone_and_a_desktop_screen_and_is_saved_as_a_screenshot() {
    let started = Instant::now();
    // With a self-updater whose release server cannot be reached, and one "Check now" pressed,
    // so the Diagnostics page's Software update section shows its facts and an event.
    let dock = analysed_dock_with(
        "browser-screens",
        6262,
        "[update]\nmanifest_url = \"https://127.0.0.1:1/a/rather/long/path/to/the/releases/of/this/dock/manifest.json\"\n",
    )
    .await;
    let (check, csrf) =
        form_on(&dock.get("/diagnostics"), "/update/check").expect("a Check now form");
    let pressed = dock.post_form(&check, &format!("csrf={csrf}"));
    assert!(pressed.starts_with("HTTP/1.1 303"), "{pressed}");
    let browser = Browser::open(&dock).await;
    println!("screenshots in {}", screenshot_dir().display());

    /// Loads `path` at `size`, checks nothing sticks out sideways, saves `{name}-{width}.png`.
    async fn shoot(browser: &Browser, path: &str, name: &str, size: (u32, u32)) {
        browser.set_viewport(size).await;
        browser.goto(path).await;
        if path == "/" {
            // The live state, as a supervisor sees it after a moment.
            browser
                .until("the page to go live", |b| async move {
                    (b.text_of("#live").await.as_deref() == Some("Live")).then_some(())
                })
                .await;
        }
        // The width the page lays out in: the viewport less a vertical scroll bar, if one takes
        // room (so a page 10 px too wide is not hidden behind the bar's 15 px).
        let widths = browser
            .js("const root = document.documentElement;\
                 return [root.scrollWidth, window.innerWidth, root.clientWidth]")
            .await;
        let [scroll, inner, client] = [0, 1, 2].map(|i| widths[i].as_u64().unwrap());
        assert!(
            scroll <= inner && scroll <= client,
            "{path} scrolls sideways at {} px: {scroll} px wide, {client} px to lay out in",
            size.0
        );
        let shot = browser.screenshot(&format!("{name}-{}.png", size.0)).await;
        let bytes = std::fs::metadata(&shot).unwrap().len();
        println!("{path} at {}x{}: {bytes} bytes", size.0, size.1);
    }

    // Signed out first, for the sign-in page.
    for size in [PHONE, DESKTOP] {
        shoot(&browser, "/login", "login", size).await;
    }
    browser.sign_in_with_form(TEST_USER, TEST_PASSWORD).await;
    browser.goto("/overview").await;
    let worker = browser
        .driver()
        .find(By::Css("main a[href^='/workers/']"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    for size in [PHONE, DESKTOP] {
        for (path, name) in [
            ("/", "dock"),
            ("/overview", "overview"),
            (worker.as_str(), "worker"),
            ("/tasks", "tasks"),
            ("/roster", "roster"),
            ("/settings", "settings"),
            ("/audit", "audit"),
            ("/diagnostics", "diagnostics"),
        ] {
            shoot(&browser, path, name, size).await;
        }
    }
    browser.quit().await;
    println!("screenshot test took {:?}", started.elapsed());
}
