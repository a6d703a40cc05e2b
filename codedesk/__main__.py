from codedesk.cli import app

app(prog_name="codedesk")
