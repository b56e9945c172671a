// The browser bundle of JsSIP (npm), built by scripts/vendor-js.sh into web/static/vendor/jssip/: window.JsSIP.
import JsSIP from "jssip";
window.JsSIP = JsSIP;
