"""SMS through a GSM gateway speaking SIP (issue 21): its MESSAGEs reach the app as TextMessageReceived."""
