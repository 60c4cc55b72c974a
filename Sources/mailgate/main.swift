// The `mailgate` executable: argument parsing only; the work lives in Gateway.
import Gateway

// Before any thread exists: SIGHUP/SIGTERM are then read by dispatch sources.
ServerSignals.block()
Mailgate.main()
