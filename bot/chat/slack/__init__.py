"""The Slack adapter: Bolt listeners that turn Slack events into `Desk` calls, and `SlackSink`,
which renders `AlertView`s as Block Kit messages.

Entry points: `client.build_web_client`, `sink.SlackSink`, `app.build_app`, `runner.start`,
`doctor.run_doctor`. Nothing outside this package imports slack_bolt or slack_sdk.
"""
