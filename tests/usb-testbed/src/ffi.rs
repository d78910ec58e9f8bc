//! The only unsafe code: umockdev/GObject FFI behind owned, ref-counted wrappers. It knows nothing
//! about USB; it must never hand raw pointers to the rest of the crate or let a panic cross `extern "C"`.
//!
//! Threading (checked in umockdev 0.17.16's source, `umockdev.vala`): the testbed starts its own
//! thread, "umockdev-testbed-worker", running a private `GMainContext`. Every ioctl socket is
//! served there, so the "handle-ioctl" signal, and `complete` (a `g_main_context_invoke` on that
//! context), run on that thread. No main loop is needed on any thread of ours.

use std::ffi::{CStr, CString, c_char, c_int, c_long, c_uint, c_ulong, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::{NonNull, null_mut};
use std::sync::Arc;

#[repr(C)]
struct RawData {
    // GObject: GTypeInstance*, ref_count, qdata; then UMockdevIoctlData's public fields.
    g_class: *mut c_void,
    ref_count: c_uint,
    qdata: *mut c_void,
    data: *mut u8,
    data_len: c_int,
    client_addr: u64, // gulong: 64-bit on the LP64 Linux targets this harness runs on
    private: *mut c_void,
}

#[repr(C)]
struct GError {
    domain: u32,
    code: c_int,
    message: *const c_char,
}

type Notify = unsafe extern "C" fn(*mut c_void, *mut c_void);

#[link(name = "umockdev")]
unsafe extern "C" {
    fn umockdev_testbed_new() -> *mut c_void;
    fn umockdev_testbed_get_root_dir(tb: *mut c_void) -> *mut c_char;
    fn umockdev_testbed_add_from_string(
        tb: *mut c_void,
        s: *const c_char,
        e: *mut *mut GError,
    ) -> c_int;
    fn umockdev_testbed_uevent(tb: *mut c_void, devpath: *const c_char, action: *const c_char);
    fn umockdev_testbed_remove_device(tb: *mut c_void, syspath: *const c_char);
    fn umockdev_testbed_attach_ioctl(
        tb: *mut c_void,
        dev: *const c_char,
        handler: *mut c_void,
        e: *mut *mut GError,
    ) -> c_int;
    fn umockdev_testbed_detach_ioctl(
        tb: *mut c_void,
        dev: *const c_char,
        e: *mut *mut GError,
    ) -> c_int;
    fn umockdev_ioctl_base_new() -> *mut c_void;
    fn umockdev_ioctl_client_get_request(c: *mut c_void) -> u64;
    fn umockdev_ioctl_client_get_arg(c: *mut c_void) -> *mut RawData;
    fn umockdev_ioctl_client_get_connected(c: *mut c_void) -> c_int;
    fn umockdev_ioctl_client_complete(c: *mut c_void, res: c_long, errno: c_int);
    fn umockdev_ioctl_data_resolve(
        d: *mut RawData,
        offset: usize,
        len: usize,
        e: *mut *mut GError,
    ) -> *mut RawData;
    fn umockdev_ioctl_data_set_ptr(d: *mut RawData, offset: usize, child: *mut RawData) -> c_int;
}

#[link(name = "gobject-2.0")]
unsafe extern "C" {
    fn g_object_ref(o: *mut c_void) -> *mut c_void;
    fn g_object_unref(o: *mut c_void);
    fn g_signal_connect_data(
        instance: *mut c_void,
        signal: *const c_char,
        handler: *const c_void,
        data: *mut c_void,
        destroy: Option<Notify>,
        flags: c_int,
    ) -> c_ulong;
}

#[link(name = "glib-2.0")]
unsafe extern "C" {
    fn g_free(p: *mut c_void);
    fn g_error_free(e: *mut GError);
}

fn cstr(s: &str) -> CString {
    CString::new(s).unwrap_or_else(|_| panic!("usb-testbed: NUL byte in {s:?}"))
}

/// Turns a GError out-parameter into a message. SAFETY: `e` is null or a GError we own.
unsafe fn take_error(e: *mut GError) -> String {
    if e.is_null() {
        return "unknown error".into();
    }
    // SAFETY: a non-null GError from GLib has a valid NUL-terminated message; we free it once.
    unsafe {
        let msg = CStr::from_ptr((*e).message).to_string_lossy().into_owned();
        g_error_free(e);
        msg
    }
}

/// One owned reference to a `UMockdevTestbed`.
pub(crate) struct Bed(NonNull<c_void>);

// SAFETY: the testbed is only reached through `&mut`/a Mutex in `lib.rs`, so calls are serialized;
// GObject reference counting is thread-safe, and the worker thread only touches its own context.
unsafe impl Send for Bed {}

impl Bed {
    pub(crate) fn new() -> Bed {
        // SAFETY: plain constructor; returns a new reference or aborts inside GLib.
        let p = unsafe { umockdev_testbed_new() };
        Bed(NonNull::new(p).unwrap_or_else(|| panic!("usb-testbed: umockdev_testbed_new failed")))
    }

    pub(crate) fn root_dir(&self) -> String {
        // SAFETY: returns a newly allocated string that we copy and g_free.
        unsafe {
            let p = umockdev_testbed_get_root_dir(self.0.as_ptr());
            let s = CStr::from_ptr(p).to_string_lossy().into_owned();
            g_free(p.cast());
            s
        }
    }

    pub(crate) fn add_from_string(&mut self, record: &str) -> Result<(), String> {
        let rec = cstr(record);
        let mut err = null_mut();
        // SAFETY: valid testbed and C string; `err` is a GError out-parameter we then own.
        let ok =
            unsafe { umockdev_testbed_add_from_string(self.0.as_ptr(), rec.as_ptr(), &mut err) };
        // SAFETY: `err` is null or ours.
        if ok != 0 {
            Ok(())
        } else {
            Err(unsafe { take_error(err) })
        }
    }

    pub(crate) fn uevent(&mut self, syspath: &str, action: &str) {
        let (p, a) = (cstr(syspath), cstr(action));
        // SAFETY: valid testbed and C strings.
        unsafe { umockdev_testbed_uevent(self.0.as_ptr(), p.as_ptr(), a.as_ptr()) }
    }

    pub(crate) fn remove_device(&mut self, syspath: &str) {
        let p = cstr(syspath);
        // SAFETY: valid testbed and C string.
        unsafe { umockdev_testbed_remove_device(self.0.as_ptr(), p.as_ptr()) }
    }

    /// Serves ioctls on `devnode` with `handler` (`attach_ioctl` takes its own reference).
    pub(crate) fn attach(
        &mut self,
        devnode: &str,
        handler: Arc<dyn IoctlHandler>,
    ) -> Result<(), String> {
        // SAFETY: new GObject reference, released below once the testbed holds its own.
        let base = unsafe { umockdev_ioctl_base_new() };
        let data = Box::into_raw(Box::new(handler));
        let signal = cstr("handle-ioctl");
        let dev = cstr(devnode);
        let mut err = null_mut();
        // SAFETY: `on_ioctl` has the signal's C signature (instance, client, user data) -> gboolean;
        // `data` stays alive until GObject calls `drop_handler` when the signal is disconnected.
        let ok = unsafe {
            g_signal_connect_data(
                base,
                signal.as_ptr(),
                on_ioctl as *const c_void,
                data.cast(),
                Some(drop_handler),
                0,
            );
            let ok = umockdev_testbed_attach_ioctl(self.0.as_ptr(), dev.as_ptr(), base, &mut err);
            g_object_unref(base);
            ok
        };
        // SAFETY: `err` is null or ours.
        if ok != 0 {
            Ok(())
        } else {
            Err(unsafe { take_error(err) })
        }
    }

    /// Stops accepting new opens of `devnode`; already open clients keep being served.
    pub(crate) fn detach(&mut self, devnode: &str) {
        let dev = cstr(devnode);
        let mut err = null_mut();
        // SAFETY: valid testbed and C string; a failure (not attached) only sets `err`, freed here.
        unsafe {
            if umockdev_testbed_detach_ioctl(self.0.as_ptr(), dev.as_ptr(), &mut err) == 0 {
                take_error(err);
            }
        }
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        // SAFETY: we own exactly one reference. Finalizing removes the temp dir and UMOCKDEV_DIR.
        unsafe { g_object_unref(self.0.as_ptr()) }
    }
}

/// Answers one ioctl; returns the ioctl's `(result, errno)`. Runs on umockdev's worker thread.
pub(crate) trait IoctlHandler: Send + Sync + 'static {
    fn ioctl(&self, client: &Client) -> (i64, i32);
}

unsafe extern "C" fn on_ioctl(_base: *mut c_void, client: *mut c_void, user: *mut c_void) -> c_int {
    // SAFETY: `user` is the Box<Arc<..>> leaked in `attach`, alive while the signal is connected;
    // `client` is the live UMockdevIoctlClient the signal was emitted for; we take our own ref.
    let (handler, client) = unsafe {
        (
            &*(user as *const Arc<dyn IoctlHandler>),
            Client(NonNull::new_unchecked(g_object_ref(client))),
        )
    };
    let (res, errno) =
        catch_unwind(AssertUnwindSafe(|| handler.ioctl(&client))).unwrap_or_else(|_| {
            eprintln!("usb-testbed: ioctl handler panicked; answering EIO");
            (-1, libc::EIO)
        });
    // SAFETY: every emission is completed exactly once, here.
    unsafe { umockdev_ioctl_client_complete(client.0.as_ptr(), res as c_long, errno) };
    1
}

unsafe extern "C" fn drop_handler(user: *mut c_void, _closure: *mut c_void) {
    // SAFETY: called once by GObject with the pointer leaked in `attach`.
    drop(unsafe { Box::from_raw(user as *mut Arc<dyn IoctlHandler>) });
}

/// One owned reference to a `UMockdevIoctlClient` (an open fd on a fake node, maybe in another process).
pub(crate) struct Client(NonNull<c_void>);

// SAFETY: only reference counting happens off the worker thread; accessors run on it.
unsafe impl Send for Client {}

impl Client {
    pub(crate) fn id(&self) -> usize {
        self.0.as_ptr() as usize
    }
    pub(crate) fn request(&self) -> u64 {
        // SAFETY: live client.
        unsafe { umockdev_ioctl_client_get_request(self.0.as_ptr()) }
    }
    pub(crate) fn connected(&self) -> bool {
        // SAFETY: live client.
        unsafe { umockdev_ioctl_client_get_connected(self.0.as_ptr()) != 0 }
    }
    /// The ioctl argument: its bytes are the raw argument value (usually a client pointer).
    pub(crate) fn arg(&self) -> Option<Data> {
        // SAFETY: the getter returns a borrowed object (or null); we add our own reference.
        unsafe {
            let p = umockdev_ioctl_client_get_arg(self.0.as_ptr());
            NonNull::new(p).map(|p| {
                Data(NonNull::new_unchecked(
                    g_object_ref(p.as_ptr().cast()).cast(),
                ))
            })
        }
    }
}

impl Clone for Client {
    fn clone(&self) -> Client {
        // SAFETY: adds a reference to a live object.
        Client(unsafe { NonNull::new_unchecked(g_object_ref(self.0.as_ptr())) })
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // SAFETY: we own one reference.
        unsafe { g_object_unref(self.0.as_ptr()) }
    }
}

/// One owned reference to a `UMockdevIoctlData`: a local copy of client memory that umockdev
/// writes back (if changed) when the ioctl that holds it completes.
pub(crate) struct Data(NonNull<RawData>);

// SAFETY: the bytes are only read or written on umockdev's worker thread (inside `ioctl`); other
// threads only move the handle around inside a Mutex or drop it (thread-safe unref).
unsafe impl Send for Data {}

impl Data {
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: `data`/`data_len` describe the object's own buffer, alive as long as our ref.
        unsafe {
            let r = self.0.as_ptr();
            match usize::try_from((*r).data_len) {
                Ok(n) if n > 0 && !(*r).data.is_null() => std::slice::from_raw_parts((*r).data, n),
                _ => &[],
            }
        }
    }
    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`; `&mut self` keeps this the only Rust view of the buffer.
        unsafe {
            let r = self.0.as_ptr();
            match usize::try_from((*r).data_len) {
                Ok(n) if n > 0 && !(*r).data.is_null() => {
                    std::slice::from_raw_parts_mut((*r).data, n)
                }
                _ => &mut [],
            }
        }
    }
    /// The client-side address this copy came from (0 for the top-level ioctl argument).
    pub(crate) fn client_addr(&self) -> u64 {
        // SAFETY: plain field read on a live object.
        unsafe { (*self.0.as_ptr()).client_addr }
    }
    /// Follows the pointer at `offset` and copies `len` bytes of client memory (None for NULL/0).
    pub(crate) fn resolve(&self, offset: usize, len: usize) -> Option<Data> {
        if offset + 8 > self.bytes().len() || len == 0 {
            return None;
        }
        let mut err = null_mut();
        // SAFETY: bounds checked above; the result is a new reference (transfer full) or null.
        let p = unsafe { umockdev_ioctl_data_resolve(self.0.as_ptr(), offset, len, &mut err) };
        if p.is_null() {
            // SAFETY: `err` is null or ours.
            unsafe { take_error(err) };
        }
        NonNull::new(p).map(Data)
    }
    /// Makes the pointer at `offset` point to `child` in the client (used to reap URBs).
    pub(crate) fn set_ptr(&mut self, offset: usize, child: &Data) -> bool {
        if offset + 8 > self.bytes().len() {
            return false;
        }
        // SAFETY: bounds checked; umockdev takes its own reference to `child`.
        unsafe { umockdev_ioctl_data_set_ptr(self.0.as_ptr(), offset, child.0.as_ptr()) != 0 }
    }
}

impl Drop for Data {
    fn drop(&mut self) {
        // SAFETY: we own one reference.
        unsafe { g_object_unref(self.0.as_ptr().cast()) }
    }
}
