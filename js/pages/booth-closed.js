// On a booth page that cannot vote (poll not open), still drop the slip's code from the address
// bar and history: it must never stay on a shared tablet.
if (location.hash) history.replaceState(null, "", location.pathname);
